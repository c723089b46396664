//! `chat-node`: a Raft-replicated chat node speaking the GS2-Chat API.
//!
//! Layout:
//! - [`admin_cli`]: `chat-node admin …`, the SRE command line over the admin API.
//! - [`config`]: TOML file, environment and flags layered (figment) into one validated struct;
//!   `chat-node config print`.
//! - [`server`]: boot sequence and ordered shutdown.
//! - [`raft`]: the peer network on its own port, leader forwarding, read-index, membership.
//! - [`raft_types`]: openraft's type configuration, shared by `raft` and `storage`.
//! - [`storage`]: RocksDB column families, the log store, the state machine, apply and reads.
//! - [`faces`]: the API faces over the engine below: [`faces::gs2`] (GS2 REST and WebSocket
//!   protocol), [`faces::ops`] (admin, health, metrics), [`faces::http`] (shared plumbing).
//! - [`bus`]: outbox relay and event transport (NATS JetStream or in-process).
//! - [`gateway`]: WebSocket sessions and the protocol-neutral socket pump, cluster-wide
//!   presence, fan-out, mobile push.
//! - [`metrics`]: Prometheus registry.
//!
//! The engine (`raft`, `storage`, `bus`, `gateway`) never imports [`faces`], and no two modules
//! import each other (`scripts/import-cycles.py` checks it in the test suite).

pub mod admin_cli;
pub mod bus;
pub mod clock;
pub mod config;
pub mod faces;
pub mod gateway;
pub mod lifecycle;
pub mod metrics;
pub mod raft;
pub mod raft_types;
pub mod retry;
pub mod server;
pub mod storage;
