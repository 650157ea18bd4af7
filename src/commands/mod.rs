//! The subcommands, one file each, above everything they use. `main.rs`
//! parses the command line and dispatches here; a command returns `Ok(())`
//! or a [`Failure`] (exit status and message) for `main` to report.
//!
//! - [`console`]: plain `shenhe`, the console against a server.
//! - [`demo`]: the reference server in-process, seeded, and the console.
//! - [`serve`]: the reference server alone.
//! - [`show`]: one dossier and its images printed to the scrollback.
//! - [`export`]: the follow-up list as CSV.
//! - [`migrate`]: apply the database migrations and exit.
//! - [`render_image`]: the escape sequence the console would draw for a file.
//!
//! Logging set-up and the tokio runtime are here, shared by all of them.

use std::cell::OnceCell;
use std::path::Path;

/// eprintln! that cannot panic: after a dropped SSH session stderr is gone.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

pub mod console;
pub mod demo;
pub mod export;
pub mod migrate;
pub mod render_image;
pub mod serve;
pub mod show;

/// Why a command stopped: the process's exit status and the line for stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// Exit status 1, what most failures get.
    pub fn general(message: impl Into<String>) -> Self {
        Failure::new(1, message)
    }

    pub fn code(&self) -> u8 {
        self.code
    }

    /// Write the message to stderr.
    pub fn report(&self) {
        say!("{}", self.message);
    }
}

/// The tokio runtime, built when a command first asks for it (after the
/// checks it makes without one) and owned by `main`, which drops it after
/// reporting the outcome: dropping a runtime waits for its blocking tasks,
/// and a failure's message goes out before that wait.
#[derive(Default)]
pub struct LazyRuntime(OnceCell<tokio::runtime::Runtime>);

impl LazyRuntime {
    pub fn get(&self) -> Result<&tokio::runtime::Runtime, Failure> {
        if let Some(rt) = self.0.get() {
            return Ok(rt);
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Failure::general(format!("shenhe: cannot start the runtime: {e}")))?;
        Ok(self.0.get_or_init(|| rt))
    }
}

/// The console's logs (console, demo, show) go to a file in the data
/// directory, never to the terminal.
pub fn log_to_file(data_dir: Option<&Path>) {
    let Some(dir) = data_dir else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("shenhe.log"))
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SHENHE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

/// `shenhe serve` logs to stderr (RUST_LOG, default `info,sqlx=warn`).
pub fn log_to_stderr() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        // Colour codes only for a person watching; a log file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
