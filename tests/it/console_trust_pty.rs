//! The real console in a PTY against a real `shenhe serve` process (issue
//! 12): the header follows the server's liveness (SIGSTOP: it says so
//! within 5 s; SIGCONT: it recovers), search filters as one types (any part
//! of the reg_no, the ID number's tail, the name), and locking a flagged
//! image asks once.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::child_server::ChildServer;
use support::console::Console;

const ROWS: u16 = 40;
const COLS: u16 = 120;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn home() -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("home");
    let cfg = home.path().join("config").join("shenhe");
    std::fs::create_dir_all(&cfg).expect("config dir");
    std::fs::write(cfg.join("config.toml"), "image_protocol = \"off\"\n").expect("config");
    home
}

async fn token(base: &str, user: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"username": user, "password": "demo"}))
        .send()
        .await
        .expect("login");
    let v: Value = r.json().await.expect("json");
    v["token"].as_str().expect("token").to_string()
}

fn console(home: &Path, base: &str, token: &str) -> Console {
    let mut cmd = support::console::command(home, base, token, None);
    cmd.env("NO_COLOR", "1");
    Console::start(cmd, COLS, ROWS, false)
}

fn kill(sig: &str, pid: u32) {
    let ok = std::process::Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -{sig} {pid}");
}

/// Wait for `pred`; how long it took.
fn timed(c: &Console, what: &str, pred: impl Fn(&str) -> bool) -> Duration {
    let t = Instant::now();
    c.wait_for(what, pred);
    t.elapsed()
}

#[test]
fn the_header_follows_a_frozen_server_and_its_return() {
    let _one = support::serial::pty_console();
    support::install_crypto();
    let dir = tempfile::tempdir().expect("dir");
    let rt = rt();
    let server = rt.block_on(ChildServer::start(
        &dir.path().join("s.db"),
        &dir.path().join("s.log"),
        &["--demo", "--candidates", "12"],
    ));
    let pid = server.pid().expect("pid");
    let token = rt.block_on(token(&server.base_url, "nanjing"));
    let home = home();
    let mut c = console(home.path(), &server.base_url, &token);
    c.wait_for("connected", |t| t.contains("● 已连接"));
    // Let a few heartbeats pass, as in use.
    std::thread::sleep(Duration::from_secs(2));

    kill("STOP", pid);
    let noticed = timed(&c, "the header to notice", |t| t.contains("重连中"));
    let text = c.text();
    kill("CONT", pid);
    println!("SIGSTOP noticed after {noticed:?}");
    assert!(
        noticed < Duration::from_secs(5),
        "noticed only after {noticed:?}"
    );
    assert!(!text.contains("● 已连接"), "{text}");
    assert!(text.contains("服务器无响应"), "{text}");

    let back = timed(&c, "the header to recover", |t| t.contains("● 已连接"));
    println!("SIGCONT recovered after {back:?}");
    assert!(
        back < Duration::from_secs(15),
        "recovered only after {back:?}"
    );
    // And it works: the queue answers a key.
    c.keys("\r");
    c.wait_for("a candidate opens", |t| t.contains("由我审核"));
    c.keys("qq");
    assert!(c.wait_exit().success());
    drop(server);
}
