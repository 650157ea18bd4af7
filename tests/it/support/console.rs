//! The real console in a pseudo-terminal: spawn it with a private home,
//! read its screen through vt100 (and, when asked, every raw byte), type
//! into it, signal it, wait for it to end. Shared by the PTY tests.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// Only a guard against hanging forever, never a speed assertion; a debug
/// build is slow to start.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// `shenhe` with a private home (config, data, log), a plain xterm outside
/// tmux, and none of the caller's server or token settings.
pub fn in_home(home: &Path) -> CommandBuilder {
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_shenhe"));
    cmd.env("HOME", home);
    cmd.env("XDG_CONFIG_HOME", home.join("config"));
    cmd.env("XDG_DATA_HOME", home.join("data"));
    cmd.env("TERM", "xterm-256color");
    cmd.env_remove("SHENHE_SERVER");
    cmd.env_remove("SHENHE_TOKEN");
    cmd.env_remove("TMUX");
    cmd.env_remove("TERM_PROGRAM");
    cmd
}

/// `shenhe --server URL [--config FILE]` with SHENHE_TOKEN, [`in_home`].
pub fn command(home: &Path, server: &str, token: &str, config: Option<&Path>) -> CommandBuilder {
    let mut cmd = in_home(home);
    cmd.args(["--server", server]);
    if let Some(c) = config {
        cmd.arg("--config");
        cmd.arg(c);
    }
    cmd.env("SHENHE_TOKEN", token);
    cmd
}

pub struct Console {
    pub parser: Arc<Mutex<vt100::Parser>>,
    /// Every byte the console wrote, when started with `record`.
    pub raw: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    reader: Option<std::thread::JoinHandle<()>>,
    patience: Duration,
}

impl Console {
    /// Run `cmd` in a `cols`×`rows` terminal; `record` keeps the raw bytes.
    pub fn start(cmd: CommandBuilder, cols: u16, rows: u16, record: bool) -> Console {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("pty");
        let child = pair.slave.spawn_command(cmd).expect("spawn");
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let (feed, keep) = (parser.clone(), raw.clone());
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if record && let Ok(mut r) = keep.lock() {
                    r.extend_from_slice(&buf[..n]);
                }
                if let Ok(mut p) = feed.lock() {
                    p.process(&buf[..n]);
                }
            }
        });
        Console {
            parser,
            raw,
            writer: pair.master.take_writer().expect("writer"),
            child,
            master: pair.master,
            reader: Some(reader),
            patience: PATIENCE,
        }
    }

    /// A longer guard, for a console that seeds a demo database first.
    pub fn with_patience(mut self, patience: Duration) -> Console {
        self.patience = patience;
        self
    }

    pub fn text(&self) -> String {
        super::screen::text(&self.parser)
    }

    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        super::screen::wait_for(&self.parser, self.patience, what, pred)
    }

    /// Type keys one at a time, as a person does.
    pub fn keys(&mut self, keys: &str) {
        super::screen::type_keys(self.writer.as_mut(), keys)
    }

    /// Write bytes as one burst, as a terminal sends a reply.
    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
        self.writer.flush().expect("flush");
    }

    pub fn signal(&self, sig: &str) {
        let pid = self.child.process_id().expect("pid");
        let ok = std::process::Command::new("kill")
            .args([format!("-{sig}"), pid.to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{sig} {pid}");
    }

    /// Wait for the process to end; its exit status. Everything it wrote
    /// has been read when this returns.
    pub fn wait_exit(mut self) -> portable_pty::ExitStatus {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if start.elapsed() > self.patience {
                let _ = self.child.kill();
                panic!("the console did not exit:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        drop(self.writer);
        drop(self.master);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        status
    }
}
