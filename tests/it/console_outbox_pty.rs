//! The durable outbox end to end, with the real console binary in a PTY.
//!
//! 1. A reviewer locks an image while the link is slow (a fault proxy holds
//!    every byte for a few seconds); the console is killed (SIGHUP, SIGTERM)
//!    with the request in flight; restarted, it replays its journal and the
//!    audit log shows the lock exactly once, under its idempotency key.
//! 2. A lock the server refuses (someone changed the image first) shows in
//!    the refused list, is still there after a restart, and goes only when
//!    the reviewer dismisses it.

use crate::common;
use crate::support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::TestServer;
use shenhe::api::client::{Client, Timeouts};
use shenhe::api::dto::{CandidateDetail, CandidateQuery, ImageDto, UnlockRequest};
use shenhe::domain::image::Verdict;
use shenhe::outbox::Journal;
use support::console::Console;
use support::fault_proxy::FaultProxy;

const ROWS: u16 = 40;
const COLS: u16 = 120;
/// How long the slow link holds each chunk: long enough that the console
/// dies before its request reaches the server.
const SLOW: Duration = Duration::from_secs(4);

/// `shenhe --server URL` with SHENHE_TOKEN and a private home.
fn start(home: &Path, server: &str, token: &str) -> Console {
    let mut cmd = support::console::command(home, server, token, None);
    cmd.env("NO_COLOR", "1");
    Console::start(cmd, COLS, ROWS, false)
}

fn home() -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("home");
    let cfg = home.path().join("config").join("shenhe");
    std::fs::create_dir_all(&cfg).expect("config dir");
    // No terminal-graphics query: nothing here is about images.
    std::fs::write(cfg.join("config.toml"), "image_protocol = \"off\"\n").expect("config");
    home
}

fn journal_file(home: &Path, server: &str) -> PathBuf {
    shenhe::app::effects::journal_path(&home.join("data").join("shenhe"), server, "nanjing")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn flat(d: &CandidateDetail) -> Vec<ImageDto> {
    d.materials.iter().flat_map(|m| m.images.clone()).collect()
}

/// The candidate the console opens first (row 0 of 待审核) and the image it
/// shows first (the first unreviewed one).
async fn first_candidate(c: &Client) -> (i64, ImageDto) {
    let list = c
        .candidates(&CandidateQuery {
            state: Some("awaiting_review".into()),
            limit: Some(200),
            ..CandidateQuery::default()
        })
        .await
        .expect("list");
    let id = list.items.first().expect("a candidate").id;
    let d = c.candidate(id).await.expect("detail");
    let img = flat(&d)
        .into_iter()
        .find(|i| i.verdict == Verdict::Unreviewed)
        .expect("an unreviewed image");
    (id, img)
}

/// Idempotency keys of the journal's `put` records (read as text: the
/// console may still have the file open).
fn journaled_keys(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["put"]["key"].as_str().map(str::to_string))
        .collect()
}

/// `one` is the PTY lock (see `support::serial`), given back once the
/// last console has exited: the wait for the held request is not a
/// console's.
fn interrupted_decision_lands_once(sig: &str, one: std::sync::MutexGuard<'static, ()>) {
    support::install_crypto();
    let rt = rt();
    let server = rt.block_on(TestServer::start_demo(12));
    let upstream: std::net::SocketAddr = server
        .base_url
        .trim_start_matches("http://")
        .parse()
        .expect("server addr");
    let proxy = rt.block_on(FaultProxy::start(upstream));
    let token = rt.block_on(server.login("nanjing"));
    let api =
        Client::new(&server.base_url, Some(token.clone()), Timeouts::default()).expect("client");
    let (id, img) = rt.block_on(first_candidate(&api));
    let home = home();
    let journal = journal_file(home.path(), &proxy.url());

    let mut console = start(home.path(), &proxy.url(), &token);
    console.wait_for("the queue", |t| t.contains("队列 1/"));
    console.keys("\r");
    console.wait_for("the candidate, claimed", |t| t.contains("由我审核"));

    // The link turns slow; the lock is journaled and in flight.
    proxy.set_delay(SLOW);
    let pressed = Instant::now();
    console.keys("a");
    console.wait_for("the lock, unsent", |t| t.contains("⟳ 1 待发送"));
    let keys = journaled_keys(&journal);
    assert_eq!(keys.len(), 1, "journaled before it was sent: {keys:?}");
    let key = keys[0].clone();
    console.signal(sig);
    let status = console.wait_exit();
    assert!(status.success(), "{sig}: exit status {status:?}");

    // Back on a good link: the console replays its journal.
    proxy.set_delay(Duration::ZERO);
    let mut console = start(home.path(), &proxy.url(), &token);
    console.wait_for("the queue", |t| t.contains("队列 1/"));
    console.wait_for("the replay sent", |t| t.contains("⟳ 0 待发送"));
    console.keys("q");
    let status = console.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    drop(one);
    // The first request, held by the slow link, reaches the server at
    // some point too: wait until it must have, then count.
    while pressed.elapsed() < SLOW * 3 {
        std::thread::sleep(Duration::from_millis(200));
    }

    let audit = rt.block_on(api.audit(id)).expect("audit");
    let with_key: Vec<_> = audit
        .items
        .iter()
        .filter(|e| e.idempotency_key.as_deref() == Some(key.as_str()))
        .collect();
    assert_eq!(with_key.len(), 1, "{sig}: {:#?}", audit.items);
    assert_eq!(with_key[0].action, "image.lock");
    assert_eq!(with_key[0].target, format!("image:{}", img.id));
    let locks = audit
        .items
        .iter()
        .filter(|e| e.action == "image.lock" && e.target == format!("image:{}", img.id))
        .count();
    assert_eq!(locks, 1, "{sig}: the image was locked once");
    let after = rt.block_on(api.candidate(id)).expect("detail");
    let now = flat(&after)
        .into_iter()
        .find(|i| i.id == img.id)
        .expect("image");
    assert_eq!(now.verdict, Verdict::Accepted);
    let j = Journal::open(&journal).expect("journal");
    assert_eq!(j.pending_count(), 0);
    assert_eq!(j.refused().count(), 0);
    drop(proxy);
    rt.block_on(server.shutdown());
}

#[test]
fn sighup_mid_decision_then_restart_lands_it_once() {
    interrupted_decision_lands_once("HUP", support::serial::pty_console());
}

#[test]
fn sigterm_mid_decision_then_restart_lands_it_once() {
    interrupted_decision_lands_once("TERM", support::serial::pty_console());
}

#[test]
fn refused_decision_is_listed_survives_restart_until_dismissed() {
    let _one = support::serial::pty_console();
    support::install_crypto();
    let rt = rt();
    let server = rt.block_on(TestServer::start_demo(12));
    let token = rt.block_on(server.login("nanjing"));
    let api =
        Client::new(&server.base_url, Some(token.clone()), Timeouts::default()).expect("client");
    let (id, img) = rt.block_on(first_candidate(&api));
    let home = home();
    let journal = journal_file(home.path(), &server.base_url);

    let mut console = start(home.path(), &server.base_url, &token);
    console.wait_for("the queue", |t| t.contains("队列 1/"));
    console.keys("\r");
    console.wait_for("the candidate, claimed", |t| t.contains("由我审核"));
    // Another session changes the image first: the console's version is
    // now stale (its own name, so the event does not reload the dossier).
    rt.block_on(api.unlock(
        img.id,
        &UnlockRequest {
            reasons: vec!["BLURRY".into()],
            note: None,
            expected_version: Some(img.version),
        },
        &uuid::Uuid::new_v4().to_string(),
    ))
    .expect("unlock first");
    console.keys("a");
    console.wait_for("the refusal counted", |t| t.contains("✗ 1 被拒"));
    console.keys("!");
    console.wait_for("the refused list", |t| {
        t.contains("被拒绝的操作 (1)") && t.contains("先行修改")
    });
    // Close the list, leave the candidate, quit: nothing is unsent.
    console.keys("\u{1b}");
    std::thread::sleep(Duration::from_millis(300));
    console.keys("qq");
    assert!(console.wait_exit().success());

    let mut console = start(home.path(), &server.base_url, &token);
    console.wait_for("the refusal, after a restart", |t| t.contains("✗ 1 被拒"));
    console.keys("!");
    console.wait_for("the refused list", |t| t.contains("先行修改"));
    console.keys("d");
    console.wait_for("dismissed", |t| !t.contains("被拒"));
    console.keys("q");
    assert!(console.wait_exit().success());

    let j = Journal::open(&journal).expect("journal");
    assert_eq!(j.refused().count(), 0, "dismissed for good");
    assert_eq!(j.pending_count(), 0);
    // The refused lock never happened.
    let audit = rt.block_on(api.audit(id)).expect("audit");
    assert!(
        !audit
            .items
            .iter()
            .any(|e| e.action == "image.lock" && e.target == format!("image:{}", img.id)),
        "{:#?}",
        audit.items
    );
    rt.block_on(server.shutdown());
}
