//! `chat-node`: a Raft-replicated chat node speaking the GS2-Chat API.
//!
//! Layout:
//! - [`config`]: flags, environment and TOML into one validated struct.
//! - [`server`]: boot sequence and ordered shutdown.
//! - [`raft`]: openraft types, the peer network on its own port, leader forwarding, read-index.
//! - [`storage`]: RocksDB column families, the log store, the state machine, apply and reads.
//! - [`api`]: the GS2 dispatch table, REST transport, auth, handlers, admin endpoints.
//! - [`metrics`]: Prometheus registry.

pub mod api;
pub mod config;
pub mod metrics;
pub mod raft;
pub mod server;
pub mod storage;
