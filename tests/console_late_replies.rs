//! A terminal that answers the capability query after the console stopped
//! waiting (slow SSH link): the late replies arrive as input. Before the
//! filter, `ESC P >|xterm(390) ESC \` became Alt-P, `>`, `|`, `x`, … and the
//! `x` opened the unlock reason picker. The real console in a real PTY,
//! against the real server: the replies must change nothing, and the same
//! `x` typed by a person must still open the picker.

mod common;
mod support;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestServer;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use shenhe::api::dto::CandidateList;

const ROWS: u16 = 40;
const COLS: u16 = 120;
/// Only a guard against hanging; a debug build is slow to start.
const PATIENCE: Duration = Duration::from_secs(120);
const PICKER: &str = "Unlock · ask for a replacement";

/// What xterm, kitty and friends answer to our query, late, in one burst.
const LATE: &[&[u8]] = &[
    b"\x1b_Gi=31;OK\x1b\\",
    b"\x1bP>|xterm(390)\x1b\\",
    b"\x1b[?62;4;22c",
    b"\x1b[6;20;10t",
    b"\x1b[4;800;1200t",
    b"\x1b]11;rgb:0000/0000/0000\x07",
    b"\x1b]11;rgb:ffff/ffff/ffff\x1b\\",
    b"\x1b[12;1R",
];

#[test]
fn late_capability_replies_are_not_keys() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = rt.block_on(TestServer::start_demo(12));
    let (token, name) = rt.block_on(async {
        let token = server.login("nanjing").await;
        let list: CandidateList = server
            .get_json(&token, "/api/v1/candidates?state=awaiting_review&limit=50")
            .await;
        let name = list.items.first().expect("a candidate").name.clone();
        (token, name)
    });

    let home = tempfile::tempdir().expect("home");
    let config = home.path().join("config.toml");
    // auto: the console queries the terminal, which here never answers in
    // time, so detection gives up after its timeout.
    std::fs::write(&config, "image_protocol = \"auto\"\nlang = \"en\"\n").expect("config");
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("pty");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_shenhe"));
    cmd.args([
        "--server",
        &server.base_url,
        "--config",
        config.to_str().expect("utf-8 path"),
    ]);
    cmd.env("HOME", home.path());
    cmd.env("XDG_CONFIG_HOME", home.path().join("config"));
    cmd.env("XDG_DATA_HOME", home.path().join("data"));
    cmd.env("TERM", "xterm-256color");
    cmd.env("SHENHE_TOKEN", &token);
    cmd.env_remove("SHENHE_SERVER");
    cmd.env_remove("TMUX");
    cmd.env_remove("TERM_PROGRAM");
    let mut child = pair.slave.spawn_command(cmd).expect("spawn");
    drop(pair.slave);

    let screen = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let sink = screen.clone();
    let reader_thread = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut p) = sink.lock() {
                p.process(&buf[..n]);
            }
        }
    });
    let mut keys = pair.master.take_writer().expect("writer");
    let wait_for = |what: &str, pred: &dyn Fn(&str) -> bool| {
        support::screen::wait_for(&screen, PATIENCE, what, pred)
    };

    // The queue is up only after detection gave up: replies now are late.
    wait_for("the queue", &|t| t.contains(&name));
    keys.write_all(b"\r").expect("enter");
    keys.flush().expect("flush");
    let before = wait_for("the candidate", &|t| t.contains("Proof of identity"));
    // All the replies at once, as a terminal sends them.
    keys.write_all(&LATE.concat()).expect("replies");
    keys.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(1500));
    let after = support::screen::text(&screen);
    assert!(
        !after.contains(PICKER),
        "a reply opened the picker:\n{after}"
    );
    assert!(after.contains(&name), "the candidate screen left:\n{after}");
    let title = |t: &str| t.lines().next().unwrap_or_default().to_string();
    assert_eq!(title(&before), title(&after), "the header changed");

    // The same key from a person still works: the check above can fail.
    std::thread::sleep(Duration::from_millis(200));
    keys.write_all(b"x").expect("x");
    keys.flush().expect("flush");
    wait_for("the picker from a typed x", &|t| t.contains(PICKER));
    for k in [&b"\x1b"[..], b"q", b"q", b"q"] {
        std::thread::sleep(Duration::from_millis(300));
        keys.write_all(k).expect("key");
        keys.flush().expect("flush");
    }
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("the console did not quit");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(keys);
    drop(pair.master);
    let _ = reader_thread.join();
}
