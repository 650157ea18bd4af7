//! The HTTP API: wire types shared with the server, and the console's client.

pub mod client;
pub mod dto;
pub mod error;
pub mod reports;
pub mod retry;
pub mod sse;
pub mod timefmt;
