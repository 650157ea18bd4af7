//! The tests that must not run at the same time as one another.
//!
//! Every integration test is a thread of one process (`tests/it`), two at
//! a time on a two-core machine. The console-in-a-PTY tests each start the
//! debug console binary and a server, type at a person's pace and wait for
//! the screen to settle; two of them at once compete for the same two
//! cores with their consoles, servers and image decoding, and a settle or
//! a reply deadline can then pass before the console has drawn. When each
//! was a binary of its own, cargo ran them one file after another; this
//! lock keeps that: one console in a PTY at a time. Other tests still run
//! beside them.
//!
//! Such a test starts with
//!
//! ```ignore
//! let _one = support::serial::pty_console();
//! ```
//!
//! and `cargo nextest` (one process per test) gets the same rule from the
//! `pty-console` test group in `.config/nextest.toml`, which lists the
//! same modules.

use std::sync::{Mutex, MutexGuard};

static PTY_CONSOLE: Mutex<()> = Mutex::new(());

/// Hold for the whole test. A test that failed while holding it does not
/// fail the next one: the lock only orders them.
pub fn pty_console() -> MutexGuard<'static, ()> {
    PTY_CONSOLE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
