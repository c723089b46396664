//! TCP proxies the harness controls: every node→node Raft link and every node→NATS link
//! goes through one [`Link`], so faults need no root privileges.
//!
//! Owns: one loopback listener per link (bound once, kept for the whole run so its address
//! can be baked into `--dial-override` and `--nats-url`), forwarding to the link's target,
//! and the link's [`Mode`] and latency, which apply to new *and* existing connections.
//! Does not own: which links to break (see [`crate::nemesis`]) or the addresses of the
//! processes behind them (see [`crate::cluster`]).
//!
//! Modes:
//! - [`Mode::Pass`]: bytes flow, each chunk delayed by the link's latency (plus jitter),
//!   order preserved per direction.
//! - [`Mode::Hold`]: a black hole. Existing connections stop being read in both directions
//!   (the bytes wait in kernel buffers, as with a TCP stall); new connections are accepted
//!   and held without dialing the target. Back to `Pass`, everything resumes.
//! - [`Mode::Refuse`]: existing connections are cut, new ones are reset right after accept.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use tokio::time::Instant;

/// How long a proxied connection waits for its target to accept.
const DIAL_TIMEOUT: Duration = Duration::from_secs(2);
/// Read buffer per direction.
const CHUNK: usize = 16 * 1024;
/// Chunks queued per direction while they wait out the link latency.
const DELAY_QUEUE: usize = 1024;

/// What a link does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Pass,
    Hold,
    Refuse,
}

/// A link's current behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkState {
    pub mode: Mode,
    /// Latency added to every chunk.
    pub delay: Duration,
    /// Up to this much extra latency, uniformly drawn per chunk (order is still kept).
    pub jitter: Duration,
}

impl LinkState {
    const HEALTHY: LinkState = LinkState {
        mode: Mode::Pass,
        delay: Duration::ZERO,
        jitter: Duration::ZERO,
    };
}

struct Inner {
    name: String,
    target: SocketAddr,
    state: watch::Sender<LinkState>,
    conns: Mutex<HashMap<u64, AbortHandle>>,
    next_conn: AtomicU64,
    accepted: AtomicU64,
}

/// One proxied link: a listener on `127.0.0.1:<port>` forwarding to `target`.
pub struct Link {
    addr: SocketAddr,
    inner: Arc<Inner>,
    acceptor: AbortHandle,
}

impl Link {
    /// Binds a fresh loopback port and starts accepting.
    pub async fn bind(name: impl Into<String>, target: SocketAddr) -> Result<Link> {
        let name = name.into();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .with_context(|| format!("bind proxy {name}"))?;
        let addr = listener.local_addr().context("proxy local addr")?;
        let (state, _) = watch::channel(LinkState::HEALTHY);
        let inner = Arc::new(Inner {
            name,
            target,
            state,
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
        });
        let acceptor = tokio::spawn(accept_loop(listener, inner.clone())).abort_handle();
        Ok(Link {
            addr,
            inner,
            acceptor,
        })
    }

    /// The address clients of this link dial.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    pub fn name(&self) -> &str {
        &self.inner.name
    }
    pub fn state(&self) -> LinkState {
        *self.inner.state.borrow()
    }
    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.inner.accepted.load(Ordering::Relaxed)
    }

    /// Sets the mode; `Refuse` also cuts every existing connection.
    pub fn set_mode(&self, mode: Mode) {
        self.inner.state.send_modify(|s| s.mode = mode);
        if mode == Mode::Refuse {
            self.cut();
        }
    }

    /// Sets the latency added to every chunk (new and existing connections).
    pub fn set_delay(&self, delay: Duration, jitter: Duration) {
        self.inner.state.send_modify(|s| {
            s.delay = delay;
            s.jitter = jitter;
        });
    }

    /// Back to `Pass` without latency. Held connections resume.
    pub fn heal(&self) {
        self.inner.state.send_replace(LinkState::HEALTHY);
    }

    /// Closes every existing connection (new ones are still accepted per the mode).
    pub fn cut(&self) {
        let conns: Vec<AbortHandle> = self
            .inner
            .conns
            .lock()
            .expect("proxy conns lock")
            .drain()
            .map(|(_, h)| h)
            .collect();
        for h in conns {
            h.abort();
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.acceptor.abort();
        self.cut();
    }
}

async fn accept_loop(listener: TcpListener, inner: Arc<Inner>) {
    loop {
        let (client, _) = match listener.accept().await {
            Ok(c) => c,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        inner.accepted.fetch_add(1, Ordering::Relaxed);
        if inner.state.borrow().mode == Mode::Refuse {
            // SO_LINGER 0: the close is a reset, the closest thing to a refused connect.
            // (Deprecated because a non-zero linger blocks on drop; zero does not.)
            #[allow(deprecated)]
            let _ = client.set_linger(Some(Duration::ZERO));
            drop(client);
            continue;
        }
        let id = inner.next_conn.fetch_add(1, Ordering::Relaxed);
        let task_inner = inner.clone();
        // Hold the lock across spawn + insert so the task's own removal cannot run first.
        let mut conns = inner.conns.lock().expect("proxy conns lock");
        let handle = tokio::spawn(async move {
            serve(client, &task_inner).await;
            task_inner
                .conns
                .lock()
                .expect("proxy conns lock")
                .remove(&id);
        });
        conns.insert(id, handle.abort_handle());
    }
}

/// Waits while the link holds traffic. Returns the mode that ended the wait.
async fn wait_not_held(state: &mut watch::Receiver<LinkState>) -> Mode {
    loop {
        let mode = state.borrow_and_update().mode;
        if mode != Mode::Hold {
            return mode;
        }
        if state.changed().await.is_err() {
            return Mode::Refuse;
        }
    }
}

async fn serve(client: TcpStream, inner: &Inner) {
    let mut state = inner.state.subscribe();
    if wait_not_held(&mut state).await == Mode::Refuse {
        return;
    }
    let upstream = match tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect(inner.target)).await
    {
        Ok(Ok(s)) => s,
        // Target down: close the client side so it sees the failure.
        _ => return,
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (ur, uw) = upstream.into_split();
    tokio::join!(
        pump(cr, uw, inner.state.subscribe()),
        pump(ur, cw, inner.state.subscribe())
    );
}

/// Copies one direction, honouring hold and latency. On end of stream it shuts the
/// writer down after everything queued was written.
async fn pump(mut r: OwnedReadHalf, mut w: OwnedWriteHalf, mut state: watch::Receiver<LinkState>) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(DELAY_QUEUE);
    let writer = async move {
        while let Some((due, buf)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if w.write_all(&buf).await.is_err() {
                return;
            }
        }
        let _ = w.shutdown().await;
    };
    let reader = async move {
        let mut buf = vec![0u8; CHUNK];
        let mut last_due = Instant::now();
        loop {
            if wait_not_held(&mut state).await == Mode::Refuse {
                return;
            }
            tokio::select! {
                n = r.read(&mut buf) => {
                    let n = match n {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    let s = *state.borrow();
                    let jitter = if s.jitter.is_zero() {
                        Duration::ZERO
                    } else {
                        rand::thread_rng().gen_range(Duration::ZERO..=s.jitter)
                    };
                    let due = (Instant::now() + s.delay + jitter).max(last_due);
                    last_due = due;
                    if tx.send((due, buf[..n].to_vec())).await.is_err() {
                        return;
                    }
                }
                changed = state.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    };
    tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = l.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                if s.write_all(&buf[..n]).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    async fn roundtrip(s: &mut TcpStream, msg: &[u8], wait: Duration) -> Option<Vec<u8>> {
        s.write_all(msg).await.ok()?;
        let mut buf = vec![0u8; msg.len()];
        match tokio::time::timeout(wait, s.read_exact(&mut buf)).await {
            Ok(Ok(_)) => Some(buf),
            _ => None,
        }
    }

    #[tokio::test]
    async fn pass_hold_resume_delay_refuse() {
        let target = echo_server().await;
        let link = Link::bind("test", target).await.unwrap();
        let mut s = TcpStream::connect(link.addr()).await.unwrap();
        let short = Duration::from_millis(300);
        assert_eq!(
            roundtrip(&mut s, b"hello", Duration::from_secs(2)).await,
            Some(b"hello".to_vec())
        );

        // Hold: nothing comes back; after heal the held bytes arrive on the same stream.
        link.set_mode(Mode::Hold);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(roundtrip(&mut s, b"held!", short).await, None);
        link.heal();
        let mut buf = [0u8; 5];
        tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut buf))
            .await
            .expect("held bytes arrive after heal")
            .unwrap();
        assert_eq!(&buf, b"held!");

        // Delay: a round trip takes at least twice the latency.
        link.set_delay(Duration::from_millis(150), Duration::ZERO);
        let t = std::time::Instant::now();
        assert!(roundtrip(&mut s, b"slow", Duration::from_secs(3))
            .await
            .is_some());
        assert!(
            t.elapsed() >= Duration::from_millis(300),
            "{:?}",
            t.elapsed()
        );
        link.heal();

        // Refuse: the existing connection is cut, new ones are reset.
        link.set_mode(Mode::Refuse);
        let mut rest = Vec::new();
        let r = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut rest)).await;
        assert!(r.is_ok(), "cut connection ends");
        let mut s2 = TcpStream::connect(link.addr()).await.unwrap();
        assert_eq!(roundtrip(&mut s2, b"x", short).await, None);
        link.heal();
        let mut s3 = TcpStream::connect(link.addr()).await.unwrap();
        assert_eq!(
            roundtrip(&mut s3, b"back", Duration::from_secs(2)).await,
            Some(b"back".to_vec())
        );
    }
}
