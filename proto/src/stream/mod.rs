//! The Stream Chat face's wire-level models and pure logic: what the official Stream SDKs send
//! and expect (`stream-protocol.md`), decoded and checked without any I/O.
//!
//! Layout:
//! - [`error`]: Stream's error codes, the typed [`StreamError`] and its six-key JSON body;
//! - [`time`]: the two timestamp encodings (v1 RFC 3339 strings, v2 integer nanoseconds);
//! - [`query`]: query-string decoding (`payload=`, comma or JSON lists, `sort`, booleans);
//! - [`filter`]: the filter language of the query endpoints, its evaluation and result sort.
//!
//! Routing, authentication and storage live in the node; this folder owns none of them.

pub mod error;
pub mod filter;
pub mod query;
pub mod time;

pub use error::{StreamCode, StreamError};
