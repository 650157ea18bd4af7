//! The integration tests, one binary (`cargo test --test it`): one module
//! per former `tests/*.rs` file, each still one concern, and the shared
//! harness beside them. One binary links once instead of thirty times.
//!
//! Run one file's tests with its module name as the filter, e.g.
//! `cargo test --test it console_update::`.

mod common;
mod support;

mod api_contract;
mod api_openapi;
mod api_uploads;
mod assets;
mod chaos;
mod client_events;
mod config;
mod console_hostile_image;
mod console_late_replies;
mod console_outbox_pty;
mod console_pty;
mod console_update;
mod fault_proxy;
mod fuzz_props;
mod images;
mod images_pty;
mod images_status;
mod security;
mod serve_process;
mod server_concurrency;
mod server_props;
mod server_scope;
mod server_seed;
mod server_workflow;
mod show;
mod tls;
mod ui_hostile;
mod ui_snapshots;
