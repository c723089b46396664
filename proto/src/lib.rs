//! Wire and log types of the chat cluster, shared by the node, the tests and the tools.
//!
//! Layout:
//! - [`models`]: GS2-Chat API models with their exact JSON names (what clients see).
//! - [`records`]: what the replicated state stores (passwords as hashes, no GRNs).
//! - [`command`]: the Raft log entry (versioned, msgpack) and the apply reply.
//! - [`event`]: chat events relayed to the bus (envelope, subjects).
//! - [`gateway`]: GS2-Gateway models and the notification frame.
//! - [`error`]: the typed chat error and its stable GS2 codes.
//! - [`validate`]: checks of every request field against the GS2 reference limits.
//!
//! This crate owns no I/O: it depends on serde only, never on tokio, rocksdb or openraft.

pub mod command;
pub mod error;
pub mod event;
pub mod gateway;
pub mod models;
pub mod records;
pub mod validate;

pub use error::ChatError;
