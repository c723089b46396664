//! Raft: openraft's type configuration, the peer network on its own port, and the cluster
//! handle through which the API writes, reads and changes membership.
//!
//! - [`rpc`]: the versioned wire messages between nodes (Raft RPCs, forwarded writes, reads).
//! - [`network`]: outgoing connections (persistent, pooled per peer).
//! - [`server`]: the Raft port's listener.
//! - [`service`]: what other layers register on that port (the gateway's cross-node calls), so
//!   that raft imports none of them.
//! - [`cluster`]: the cluster handle, the one place that knows who the leader is, with its jobs:
//!   - [`proposer`]: batching the leader's writes into log entries (group commit);
//!   - [`forward`]: sending writes, read barriers and admin requests to the leader, with retries;
//!   - [`membership`]: adding and removing nodes;
//!   - [`transfer`]: handing leadership to another voter.
//! - [`failover`]: replaces a crashed leader as soon as its connections close, with what it
//!   knows of the leader in [`lease`].
//!
//! See DESIGN.md for the decisions.

// openraft's `StorageError` and `RPCError` are large by design; they are what its traits return.
#![allow(clippy::result_large_err)]

pub mod cluster;
pub mod failover;
mod forward;
pub mod gauges;
mod lease;
mod membership;
pub mod network;
mod proposer;
pub mod rpc;
pub mod server;
pub mod service;
mod transfer;

pub use crate::raft_types::{Node, NodeId, Raft, TypeConfig};

/// The only Raft group for now; carried in RPCs and keys so rooms can later be spread over
/// several groups.
pub const DEFAULT_GROUP: u32 = 0;
