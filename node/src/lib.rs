//! `chat-node`: a Raft-replicated chat node speaking the GS2-Chat API.
//!
//! Layout:
//! - [`admin_cli`]: `chat-node admin …`, the SRE command line over the admin API.
//! - [`config`]: flags, environment and TOML into one validated struct.
//! - [`server`]: boot sequence and ordered shutdown.
//! - [`raft`]: openraft types, the peer network on its own port, leader forwarding, read-index.
//! - [`storage`]: RocksDB column families, the log store, the state machine, apply and reads.
//! - [`api`]: the GS2 dispatch table, REST transport, auth, handlers, admin endpoints.
//! - [`bus`]: outbox relay and event transport (NATS JetStream or in-process).
//! - [`gateway`]: WebSocket sessions, cluster-wide presence, fan-out, mobile push.
//! - [`metrics`]: Prometheus registry.

pub mod admin_cli;
pub mod api;
pub mod bus;
pub mod config;
pub mod gateway;
pub mod lifecycle;
pub mod metrics;
pub mod raft;
pub mod server;
pub mod storage;
