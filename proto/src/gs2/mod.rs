//! The GS2 face's types: GS2-Chat and GS2-Gateway models, stored records, error codes and
//! field validation.

pub mod error;
pub mod gateway;
pub mod models;
pub mod records;
pub mod validate;

pub use error::ChatError;
