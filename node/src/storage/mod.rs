//! Storage: one RocksDB instance holding the Raft log and the materialized views.
//!
//! - [`cf`]: column-family names (the schema); [`keys`]: key codecs.
//! - [`db`]: the shared handle; [`txn`]: the write overlay used by apply.
//! - [`log_store`]: openraft's log storage (newest entries cached in [`log_cache`]); [`state_machine`]: apply batches, snapshots.
//! - [`apply`]: the pure apply function; [`view`]: the read queries.
//!
//! See DESIGN.md for the decisions.

// openraft's `StorageError` and `RPCError` are large by design; they are what its traits return.
#![allow(clippy::result_large_err)]

pub mod apply;
pub mod cf;
pub mod db;
mod fault;
pub mod keys;
mod log_cache;
pub mod log_store;
pub mod state_machine;
pub mod txn;
pub mod view;
mod wal_sync;

pub use db::{Store, StoreError};
pub use view::{View, ViewError};
