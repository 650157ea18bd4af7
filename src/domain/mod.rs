//! Pure domain model: no I/O, nothing else from this crate.

pub mod imaging;
pub mod quality;
