//! API faces: each folder is one API as its clients see it.

pub mod gs2;
pub mod ops;
