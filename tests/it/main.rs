//! The integration tests, one binary (`cargo test --test it`): one module
//! per former `tests/*.rs` file, each still one concern, and the shared
//! harness beside them. One binary links once instead of thirty times.
//!
//! All of them run on the test harness's threads in one process, so none
//! may change process-wide state: no `std::env::set_var` (a child process
//! gets its environment, a private HOME among it, through its own
//! command), no change of working directory, no global subscriber, and
//! rustls's provider only through [`support::install_crypto`] (once).
//!
//! Must not run beside one another: the console-in-a-PTY tests
//! (`console_pty`, `console_outbox_pty`, `console_hostile_image`,
//! `console_late_replies`, `console_trust_pty`, `images_pty`, `web_console_e2e`,
//! `real_terminals`, `slow_link`), which take
//! [`support::serial::pty_console`] first; see that module for why.
//!
//! Run one file's tests with its module name as the filter, e.g.
//! `cargo test --test it console_update::`.

mod common;
mod support;

mod api_contract;
mod api_openapi;
mod api_search;
mod api_undo_truth;
mod api_uploads;
mod assets;
mod blobs;
mod chaos;
mod client_events;
mod config;
mod console_hostile_image;
mod console_late_replies;
mod console_outbox_pty;
mod console_pty;
mod console_trust_pty;
mod console_update;
mod fault_proxy;
mod fuzz_props;
mod idempotency_crash;
mod images;
mod images_detect;
mod images_placement;
mod images_pty;
mod images_scaled;
mod images_status;
mod pg_instances;
mod real_terminals;
mod reports;
mod security;
mod serve_process;
mod server_concurrency;
mod server_props;
mod server_scope;
mod server_seed;
mod server_speed_queue;
mod server_speed_writer;
mod server_workflow;
mod show;
mod slow_link;
mod tls;
mod ui_hostile;
mod ui_snapshots;
mod web_browser;
mod web_console_e2e;
mod web_form;
mod web_screenshots;
mod web_tls;
