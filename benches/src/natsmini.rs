//! A minimal NATS core subscriber (text protocol over one TCP connection), as lean per
//! connection as [`crate::wsclient`], so reference fan-out runs with thousands of subscriber
//! connections compare like with like. Publishing uses async-nats.

use anyhow::{bail, Context, Result};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpSocket;

pub struct MiniSub {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl MiniSub {
    /// Connects (from `src` if given), subscribes to `subject` and waits for the server's PONG,
    /// so the subscription is registered when this returns.
    pub async fn connect(addr: SocketAddr, src: Option<IpAddr>, subject: &str) -> Result<MiniSub> {
        let socket = TcpSocket::new_v4()?;
        if let Some(ip) = src {
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        let stream = tokio::time::timeout(Duration::from_secs(10), socket.connect(addr))
            .await
            .context("connect timeout")?
            .with_context(|| format!("connect to nats {addr}"))?;
        stream.set_nodelay(true).ok();
        let (r, mut w) = stream.into_split();
        let mut reader = BufReader::with_capacity(16 * 1024, r);
        let mut line = Vec::new();
        reader.read_until(b'\n', &mut line).await?; // INFO
        if !line.starts_with(b"INFO") {
            bail!("unexpected greeting: {}", String::from_utf8_lossy(&line));
        }
        let hello = format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"protocol\":1,\"echo\":false,\
             \"headers\":true,\"no_responders\":false}}\r\nSUB {subject} 1\r\nPING\r\n"
        );
        w.write_all(hello.as_bytes()).await?;
        loop {
            line.clear();
            let n =
                tokio::time::timeout(Duration::from_secs(10), reader.read_until(b'\n', &mut line))
                    .await
                    .context("no PONG")??;
            if n == 0 {
                bail!("nats closed the connection during subscribe");
            }
            if line.starts_with(b"PONG") {
                break;
            }
            if line.starts_with(b"-ERR") {
                bail!("nats: {}", String::from_utf8_lossy(&line));
            }
        }
        Ok(MiniSub { reader, writer: w })
    }

    /// Reads messages until `stop` fires or the connection ends, calling
    /// `on_msg(payload, arrival)` for each; answers PINGs.
    pub async fn run(
        mut self,
        mut stop: tokio::sync::watch::Receiver<bool>,
        mut on_msg: impl FnMut(&[u8], Instant) + Send,
    ) -> Result<()> {
        let mut line = Vec::with_capacity(256);
        let mut payload = Vec::with_capacity(1024);
        loop {
            line.clear();
            let n = tokio::select! {
                r = self.reader.read_until(b'\n', &mut line) => r?,
                _ = stop.changed() => return Ok(()),
            };
            if n == 0 {
                bail!("nats connection ended");
            }
            let now = Instant::now();
            let text = std::str::from_utf8(&line).unwrap_or("").trim_end();
            let mut parts = text.split(' ');
            match parts.next() {
                Some("MSG") | Some("HMSG") => {
                    let is_h = text.starts_with('H');
                    let fields: Vec<&str> = parts.collect();
                    let total: usize = fields
                        .last()
                        .and_then(|x| x.parse().ok())
                        .context("bad MSG line")?;
                    let hdr: usize = if is_h {
                        fields
                            .get(fields.len().wrapping_sub(2))
                            .and_then(|x| x.parse().ok())
                            .unwrap_or(0)
                    } else {
                        0
                    };
                    payload.resize(total + 2, 0);
                    self.reader.read_exact(&mut payload).await?;
                    on_msg(&payload[hdr.min(total)..total], now);
                }
                Some("PING") => self.writer.write_all(b"PONG\r\n").await?,
                Some("-ERR") => bail!("nats: {text}"),
                _ => {}
            }
        }
    }
}
