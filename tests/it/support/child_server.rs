//! The real `shenhe serve` binary as a child process on a fixed SQLite
//! file: started, stopped with SIGTERM, killed with SIGKILL and restarted on
//! the same file. Its stderr (the server's log) goes to a file the tests
//! can read.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct ChildServer {
    child: Child,
    pub addr: SocketAddr,
    pub base_url: String,
    db: PathBuf,
    log: PathBuf,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    /// SIGKILLs so far.
    pub kills: u32,
}

impl ChildServer {
    /// `shenhe serve --listen 127.0.0.1:0 --db DB ARGS…`, its log appended
    /// to `log`; returns once it prints the address it serves on.
    pub async fn start(db: &Path, log: &Path, args: &[&str]) -> ChildServer {
        ChildServer::start_with_env(db, log, args, &[]).await
    }

    pub async fn start_with_env(
        db: &Path,
        log: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> ChildServer {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let envs: Vec<(String, String)> = envs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (child, base_url) = spawn(db, log, &args, &envs).await;
        ChildServer {
            addr: addr_of(&base_url),
            child,
            base_url,
            db: db.to_path_buf(),
            log: log.to_path_buf(),
            args,
            envs,
            kills: 0,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGKILL: no drain, no shutdown hook; whatever SQLite had not
    /// committed is gone.
    pub async fn kill9(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        self.kills += 1;
    }

    /// Start again on the same database (on a new port: the old one may
    /// still be in TIME_WAIT; the proxy is pointed at the new one).
    pub async fn restart(&mut self) {
        let (child, base_url) = spawn(&self.db, &self.log, &self.args, &self.envs).await;
        self.child = child;
        self.addr = addr_of(&base_url);
        self.base_url = base_url;
    }

    /// SIGTERM (a graceful stop), without waiting.
    pub fn sigterm(&self) {
        let pid = self.pid().expect("running child");
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -TERM {pid}");
    }

    /// Wait for the process to end (bounded, so a hang fails the test).
    pub async fn wait(&mut self) -> ExitStatus {
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("the server exits")
            .expect("wait")
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn addr_of(base_url: &str) -> SocketAddr {
    base_url
        .split("://")
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {base_url}"))
}

async fn spawn(
    db: &Path,
    log: &Path,
    args: &[String],
    envs: &[(String, String)],
) -> (Child, String) {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("open the server log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shenhe"));
    cmd.arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--db")
        .arg(db)
        .args(args)
        .env("RUST_LOG", "info,sqlx=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn shenhe serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(Duration::from_secs(120), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("shenhe serving on ") {
                return Some(url.trim().to_string());
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    let Some(url) = url else {
        let _ = child.start_kill();
        let log = std::fs::read_to_string(log).unwrap_or_default();
        panic!("shenhe serve did not start; its log:\n{log}");
    };
    (child, url)
}
