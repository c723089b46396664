//! Wire and log types of the chat cluster, shared by the node, the tests and the tools.
//!
//! Layout:
//! - [`account`]: the users of an app (the Stream face's users), face-neutral log types.
//! - [`channel`]: channels, members and their messages (the Stream face's), face-neutral.
//! - [`command`]: the Raft log entry (versioned, msgpack) and the apply reply.
//! - [`event`]: chat events relayed to the bus (envelope, subjects).
//! - [`gs2`]: the GS2 face's types:
//!   - [`gs2::models`]: GS2-Chat API models with their exact JSON names (what clients see);
//!   - [`gs2::records`]: what the replicated state stores (passwords as hashes, no GRNs);
//!   - [`gs2::gateway`]: GS2-Gateway models and the notification frame;
//!   - [`gs2::error`]: the typed chat error and its stable GS2 codes;
//!   - [`gs2::validate`]: checks of every request field against the GS2 reference limits.
//! - [`stream`]: the Stream Chat face's wire models and pure logic (errors, time encodings,
//!   query-string decoding, the filter language).
//!
//! This crate owns no I/O: it depends on serde (and `time` for parsing) only, never on tokio,
//! rocksdb or openraft.

pub mod account;
pub mod channel;
pub mod command;
pub mod event;
pub mod gs2;
pub mod stream;
