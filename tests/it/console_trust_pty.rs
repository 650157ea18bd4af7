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

async fn get(base: &str, token: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

async fn matches(base: &str, token: &str, q: &str) -> usize {
    let enc: String = q
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let v = get(
        base,
        token,
        &format!("/api/v1/candidates?state=awaiting_review&limit=500&q={enc}"),
    )
    .await;
    v["items"].as_array().map_or(0, Vec::len)
}

#[test]
fn search_filters_the_queue_as_one_types() {
    let _one = support::serial::pty_console();
    support::install_crypto();
    let dir = tempfile::tempdir().expect("dir");
    let rt = rt();
    let server = rt.block_on(ChildServer::start(
        &dir.path().join("s.db"),
        &dir.path().join("s.log"),
        &["--demo", "--candidates", "60"],
    ));
    let base = server.base_url.clone();
    let token = rt.block_on(token(&base, "nanjing"));
    let list = rt.block_on(get(
        &base,
        &token,
        "/api/v1/candidates?state=awaiting_review&limit=500",
    ));
    let items = list["items"].as_array().expect("items").clone();
    assert!(items.len() >= 2, "need a few candidates awaiting");
    let target = &items[items.len() - 1];
    let id = target["id"].as_i64().expect("id");
    let name = target["name"].as_str().expect("name").to_string();
    let reg = target["reg_no"].as_str().expect("reg").to_string();
    let detail = rt.block_on(get(&base, &token, &format!("/api/v1/candidates/{id}")));
    let masked = detail["id_number"].as_str().expect("id").to_string();
    let tail: String = masked[masked.len() - 4..].to_string();
    let middle: String = reg[3..reg.len() - 1].to_string();
    let initials = shenhe::domain::name_key::initials(&name);

    let home = home();
    let mut c = console(home.path(), &base, &token);
    c.wait_for("the queue", |t| t.contains("队列 1/"));
    for q in [middle.as_str(), tail.as_str(), initials.as_str()] {
        let n = rt.block_on(matches(&base, &token, q));
        assert!(n >= 1, "the API finds {q}");
        c.keys("/");
        c.wait_for("the search line", |t| t.contains("证件号后几位）:"));
        // No Enter: the list follows the typing.
        c.keys(q);
        let want = format!("1/{n} ");
        let t = Instant::now();
        c.wait_for(&format!("{q}: {n} match(es) with {name}"), |t| {
            t.contains(&want) && t.contains(&name)
        });
        println!(
            "search {q:?}: {n} match(es) shown {:?} after the last key",
            t.elapsed()
        );
        // Esc: the queue as it was.
        c.keys("\x1b");
        let all = format!("队列 1/{} ", list["counts"]["awaiting_review"]);
        c.wait_for(&format!("the whole queue again ({all})"), |t| {
            t.contains(&all)
        });
    }
    c.keys("qq");
    assert!(c.wait_exit().success());
    drop(server);
}

#[test]
fn locking_a_flagged_image_asks_once() {
    let _one = support::serial::pty_console();
    support::install_crypto();
    let dir = tempfile::tempdir().expect("dir");
    let rt = rt();
    let server = rt.block_on(ChildServer::start(
        &dir.path().join("s.db"),
        &dir.path().join("s.log"),
        &["--demo", "--candidates", "80"],
    ));
    let base = server.base_url.clone();
    let token = rt.block_on(token(&base, "nanjing"));
    // A candidate awaiting review with an unreviewed flagged image.
    let list = rt.block_on(get(
        &base,
        &token,
        "/api/v1/candidates?state=awaiting_review&limit=500",
    ));
    let mut found = None;
    for c in list["items"].as_array().expect("items") {
        if c["flagged"].as_i64().unwrap_or(0) == 0 || c["claim"].is_object() {
            continue;
        }
        let d = rt.block_on(get(
            &base,
            &token,
            &format!("/api/v1/candidates/{}", c["id"]),
        ));
        let imgs: Vec<Value> = d["materials"]
            .as_array()
            .expect("materials")
            .iter()
            .flat_map(|m| m["images"].as_array().cloned().unwrap_or_default())
            .collect();
        let flagged = imgs.iter().position(|i| {
            let h = &i["hints"];
            i["verdict"] == "unreviewed"
                && (h["blurry"] == true
                    || h["not_upright"] == true
                    || h["too_small"] == true
                    || h["near_duplicate_of"]
                        .as_array()
                        .is_some_and(|v| !v.is_empty())
                    || h["duplicate_of"].as_array().is_some_and(|v| !v.is_empty()))
        });
        let first = imgs.iter().position(|i| i["verdict"] == "unreviewed");
        if let (Some(k), Some(f)) = (flagged, first) {
            found = Some((
                c.clone(),
                imgs[k]["id"].as_i64().expect("img"),
                (k + imgs.len() - f) % imgs.len(),
            ));
            break;
        }
    }
    let (cand, image_id, steps) = found.expect("a candidate with a flagged, unreviewed image");
    let reg = cand["reg_no"].as_str().expect("reg").to_string();
    let name = cand["name"].as_str().expect("name").to_string();

    let home = home();
    let mut c = console(home.path(), &base, &token);
    c.wait_for("the queue", |t| t.contains("队列 1/"));
    c.keys("/");
    c.keys(&reg);
    c.wait_for("the one match", |t| t.contains("1/1 ") && t.contains(&name));
    c.keys("\r\r");
    c.wait_for("the candidate", |t| t.contains("由我审核"));
    for _ in 0..steps {
        c.keys("\t");
    }
    c.wait_for("the flagged image's caption", |t| t.contains("⚑ "));
    c.keys("a");
    c.wait_for("the question", |t| t.contains("此图片有质量提示"));
    c.keys("n");
    c.wait_for("no question", |t| !t.contains("此图片有质量提示"));
    let verdict = |rt: &tokio::runtime::Runtime| {
        let d = rt.block_on(get(
            &base,
            &token,
            &format!("/api/v1/candidates/{}", cand["id"]),
        ));
        d["materials"]
            .as_array()
            .expect("materials")
            .iter()
            .flat_map(|m| m["images"].as_array().cloned().unwrap_or_default())
            .find(|i| i["id"] == image_id)
            .map(|i| i["verdict"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(verdict(&rt), "unreviewed", "n must not lock it");
    c.keys("a");
    c.wait_for("asked again", |t| t.contains("此图片有质量提示"));
    c.keys("a");
    c.wait_for("sent", |t| {
        t.contains("⟳ 0 待发送") && !t.contains("此图片有质量提示")
    });
    let t = Instant::now();
    while verdict(&rt) != "accepted" {
        assert!(t.elapsed() < Duration::from_secs(20), "never locked");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Back to the queue, clear the search, quit.
    c.keys("qqq");
    assert!(c.wait_exit().success());
    drop(server);
}
