//! What the cross-process crates (`tests`, `chaos`, `benches`) share to run and talk to
//! real `chat-node` processes.
//!
//! Owns: finding the `chat-node` binary, starting nodes and clusters (log files kept and
//! their tails printed on failure), reading `ports.json`, starting `nats-server`, waiting
//! on conditions ([`wait_until`] reports the last observation), a GS2 REST client and a
//! GS2 WebSocket client.
//! Does not own: any assertion about server behaviour, fault injection policy (chaos) or
//! load shapes (benches).
//!
//! Layout:
//! - [`node`]: one `chat-node` process (spawn, `ports.json`, `/healthz`, signals, restart).
//! - [`cluster`]: N nodes joined through `POST /admin/cluster/nodes`, leader lookup.
//! - [`nats`]: `nats-server -js` on ephemeral ports.
//! - [`client`]: GS2 REST client; [`resp`]: its answers and the assertions on them.
//! - [`ws`]: GS2 WebSocket client.
//! - [`gs2`]: GS2 error bodies and gzip.
//! - [`proc`]: child processes with a log file, signals through `libc`.

pub mod client;
pub mod cluster;
pub mod gs2;
pub mod nats;
pub mod node;
pub mod proc;
pub mod resp;
pub mod ws;

pub use client::{Call, Client, Resp};
pub use cluster::Cluster;
pub use gs2::Gs2Error;
pub use nats::NatsServer;
pub use node::{Node, NodeOpts};
pub use ws::WsClient;

use std::future::Future;
use std::time::{Duration, Instant};

/// Interval between two evaluations of a [`wait_until`] condition.
pub const POLL: Duration = Duration::from_millis(50);

/// Polls `cond` until it returns `Ok(value)` or `timeout` elapses.
///
/// `cond` returns `Err(reason)` while the condition does not hold; the last reason is
/// part of the panic message on timeout, so a failing wait says what it last saw.
pub async fn wait_until<T, F, Fut>(timeout: Duration, what: &str, mut cond: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    match try_wait_until(timeout, &mut cond).await {
        Ok(v) => v,
        Err(last) => {
            panic!("timed out after {timeout:?} waiting for {what}; last observation: {last}")
        }
    }
}

/// Waits until `count()` reaches `at_least` (e.g. acknowledged posts of a background
/// load); the last count is the observation on timeout.
pub async fn wait_count(timeout: Duration, what: &str, at_least: usize, count: impl Fn() -> usize) {
    wait_until(timeout, what, || {
        let n = count();
        async move {
            if n >= at_least {
                Ok(())
            } else {
                Err(format!("{n} of {at_least}"))
            }
        }
    })
    .await
}

/// Like [`wait_until`] but returns the last reason instead of panicking.
pub async fn try_wait_until<T, F, Fut>(timeout: Duration, mut cond: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match cond().await {
            Ok(v) => return Ok(v),
            Err(reason) => {
                if Instant::now() >= deadline {
                    return Err(reason);
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The workspace root. Cargo sets `CARGO_MANIFEST_DIR` (of the crate being run) when it
/// runs a test or a binary; every crate of the workspace sits one level below the root, and
/// the run-time value is preferred over the path compiled in, which is stale when a shared
/// target directory reuses a binary built from a checkout elsewhere.
pub fn workspace_root() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .filter(|p| p.join("Cargo.toml").exists())
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("..")
}
