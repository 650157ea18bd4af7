//! shenhe (审核台): a terminal console for reviewing exam-registration
//! materials, and the reference server of the API it speaks.
#![deny(clippy::unwrap_used)]

pub mod api;
pub mod assets;
pub mod cli;
pub mod domain;
pub mod server;
