//! A terminal that answers the capability query after the console stopped
//! waiting (slow SSH link): the late replies arrive as input. Before the
//! filter, `ESC P >|xterm(390) ESC \` became Alt-P, `>`, `|`, `x`, … and the
//! `x` opened the unlock reason picker. The real console in a real PTY,
//! against the real server: the replies must change nothing, and the same
//! `x` typed by a person must still open the picker.

use crate::common;
use crate::support;

use std::time::Duration;

use common::TestServer;
use shenhe::api::dto::CandidateList;
use support::console::Console;

const ROWS: u16 = 40;
const COLS: u16 = 120;
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
    let _one = support::serial::pty_console();
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
    let cmd = support::console::command(home.path(), &server.base_url, &token, Some(&config));
    let mut console = Console::start(cmd, COLS, ROWS, false);

    // The queue is up only after detection gave up: replies now are late.
    console.wait_for("the queue", |t| t.contains(&name));
    console.keys("\r");
    let before = console.wait_for("the candidate", |t| t.contains("Proof of identity"));
    // All the replies at once, as a terminal sends them.
    console.send(&LATE.concat());
    std::thread::sleep(Duration::from_millis(1500));
    let after = console.text();
    assert!(
        !after.contains(PICKER),
        "a reply opened the picker:\n{after}"
    );
    assert!(after.contains(&name), "the candidate screen left:\n{after}");
    let title = |t: &str| t.lines().next().unwrap_or_default().to_string();
    assert_eq!(title(&before), title(&after), "the header changed");

    // The same key from a person still works: the check above can fail.
    console.keys("x");
    console.wait_for("the picker from a typed x", |t| t.contains(PICKER));
    console.keys("\x1bqqq");
    console.wait_exit();
}
