//! The lean side of the GS2 WebSocket client, for many connections at once (the load
//! generator): dialling a socket (optional loopback source address, receive buffer,
//! `TCP_NODELAY`), one sequential call on a socket the caller owns (no reader task, no
//! correlation map), and a read loop that hands notification frames to a callback as
//! text, without parsing them.
//! Does not own: notification queues, arrival bookkeeping or frame-shape checks (see
//! [`super::WsClient`]).

use super::frame;
use anyhow::{anyhow, bail, Context, Result};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A client WebSocket over plain TCP.
pub type Stream = WebSocketStream<TcpStream>;

/// How the socket ended, as seen by its reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// The server sent a close frame (`code` 1005 when it carried no payload).
    Frame { code: u16, reason: String },
    /// The stream ended without a close frame.
    Ended,
    /// A transport or protocol error (e.g. connection reset).
    Error(String),
}

impl Closed {
    /// A received close frame.
    pub fn from_frame(frame: Option<CloseFrame<'_>>) -> Closed {
        match frame {
            Some(f) => Closed::Frame {
                code: u16::from(f.code),
                reason: f.reason.into_owned(),
            },
            None => Closed::Frame {
                code: 1005,
                reason: String::new(),
            },
        }
    }
}

/// Socket options of [`dial`].
#[derive(Debug, Clone)]
pub struct Dial {
    /// Local address to bind before connecting (more than one ephemeral port range).
    pub source: Option<IpAddr>,
    /// `SO_RCVBUF` before connecting (a small window makes an unread socket back-pressure
    /// the server fast).
    pub recv_buffer: Option<u32>,
    pub nodelay: bool,
    /// Each of the TCP connect and the WebSocket handshake.
    pub timeout: Duration,
}

impl Default for Dial {
    fn default() -> Self {
        Dial {
            source: None,
            recv_buffer: None,
            nodelay: false,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Opens `url` (`ws://host:port/…`).
pub async fn dial(url: &str, opts: &Dial) -> Result<Stream> {
    let hostport = url
        .strip_prefix("ws://")
        .with_context(|| format!("not a ws:// URL: {url}"))?
        .split('/')
        .next()
        .unwrap_or_default();
    let addr = tokio::net::lookup_host(hostport)
        .await
        .with_context(|| format!("resolve {hostport}"))?
        .next()
        .with_context(|| format!("no address for {hostport}"))?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .context("create TCP socket")?;
    if let Some(ip) = opts.source {
        socket
            .bind(SocketAddr::new(ip, 0))
            .with_context(|| format!("bind {ip}"))?;
    }
    if let Some(n) = opts.recv_buffer {
        socket
            .set_recv_buffer_size(n)
            .context("set SO_RCVBUF on the WebSocket client socket")?;
    }
    let stream = tokio::time::timeout(opts.timeout, socket.connect(addr))
        .await
        .map_err(|_| anyhow!("TCP connect to {addr} timed out"))?
        .with_context(|| format!("TCP connect to {addr}"))?;
    if opts.nodelay {
        stream.set_nodelay(true).ok();
    }
    let (ws, _resp) =
        tokio::time::timeout(opts.timeout, tokio_tungstenite::client_async(url, stream))
            .await
            .map_err(|_| anyhow!("WebSocket handshake with {url} timed out"))?
            .with_context(|| format!("WebSocket handshake with {url}"))?;
    Ok(ws)
}

/// Sends `frame` (carrying `x_gs2.requestId` = `request_id`) and reads until its answer,
/// at most `timeout`; other frames (notifications, other answers) are dropped. Returns
/// `(status, body)`.
pub async fn call(
    ws: &mut Stream,
    request_id: &str,
    frame: Value,
    timeout: Duration,
) -> Result<(u16, Value)> {
    ws.send(Message::Text(frame.to_string()))
        .await
        .context("send frame")?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| anyhow!("no answer to {request_id} within {timeout:?}"))?;
        let text = match msg {
            None => bail!("socket closed before the answer"),
            Some(Err(e)) => bail!("socket error: {e}"),
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(f))) => bail!("socket closed: {f:?}"),
            Some(Ok(_)) => continue,
        };
        // Cheap test first: most frames read here are notifications.
        if !text.contains(request_id) {
            continue;
        }
        let v: Value = serde_json::from_str(&text).context("answer is not JSON")?;
        if frame::request_id(&v).as_deref() == Some(request_id) {
            return frame::response(&v).map_err(|e| anyhow!(e));
        }
    }
}

/// Reads `ws` until `stop` changes, calling `on_notification(frame_text, arrival)` for
/// every text frame that names a notification (found by text, not parsed). Returns how
/// the socket ended, `None` when stopped.
pub async fn read_notifications(
    mut ws: Stream,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mut on_notification: impl FnMut(&str, Instant) + Send,
) -> Option<Closed> {
    loop {
        let msg = tokio::select! {
            m = ws.next() => m,
            _ = stop.changed() => return None,
        };
        match msg {
            None => return Some(Closed::Ended),
            Some(Err(e)) => return Some(Closed::Error(e.to_string())),
            Some(Ok(Message::Text(t))) => {
                let now = Instant::now();
                if t.contains("\"notification\"") {
                    on_notification(&t, now);
                }
            }
            Some(Ok(Message::Close(f))) => return Some(Closed::from_frame(f)),
            Some(Ok(_)) => {}
        }
    }
}
