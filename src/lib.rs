//! shenhe (审核台): a terminal console for reviewing exam-registration
//! materials, and the reference server of the API it speaks.
#![deny(clippy::unwrap_used)]

pub mod api;
pub mod app;
pub mod assets;
pub mod cli;
pub mod commands;
pub mod config;
pub mod domain;
pub mod follow_up;
pub mod images;
pub mod lang;
pub mod outbox;
pub mod server;
pub mod tui;
pub mod ui;
pub mod web;
