//! The real `shenhe serve` process: its log holds no personal data, and
//! SIGTERM lets a request in flight finish before the process exits.

use crate::support;

use std::time::Duration;

use reqwest::Client;
use serde_json::{Value, json};
use support::child_server::ChildServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn login(http: &Client, base: &str, user: &str) -> String {
    let v: Value = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": user, "password": "demo"}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    v["token"].as_str().expect("token").to_string()
}

async fn wait_for_log(server: &ChildServer, needle: &str) {
    for _ in 0..600 {
        if server.log_text().contains(needle) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{needle:?} never logged:\n{}", server.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_personal_data_reaches_the_log() {
    support::install_crypto();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("pii.db");
    let log = dir.path().join("server.log");
    // The most verbose level an operator would turn on (every request).
    let mut server = ChildServer::start_with_env(
        &db,
        &log,
        &["--demo", "--candidates", "30"],
        &[("RUST_LOG", "debug,sqlx=warn")],
    )
    .await;
    let base = server.base_url.clone();
    let http = Client::new();
    let t = login(&http, &base, "nanjing").await;
    // A failed login too (its username is logged as a count, not echoed).
    let _ = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": "nanjing", "password": "wrong"}))
        .send()
        .await
        .expect("send");
    let list: Value = http
        .get(format!("{base}/api/v1/candidates?state=awaiting_review"))
        .bearer_auth(&t)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let ids: Vec<i64> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .take(3)
        .map(|c| c["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids.len(), 3);
    let mut revealed = Vec::new();
    for (i, cid) in ids.iter().enumerate() {
        let d: Value = http
            .get(format!("{base}/api/v1/candidates/{cid}"))
            .bearer_auth(&t)
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
        let name = d["name"].as_str().expect("name").to_string();
        // Search by name and by the ID number's last four characters.
        let id_masked = d["id_number"].as_str().expect("id").to_string();
        let suffix: String = id_masked
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        for q in [name.as_str(), suffix.as_str()] {
            let mut url = reqwest::Url::parse(&format!("{base}/api/v1/candidates")).expect("url");
            url.query_pairs_mut().append_pair("q", q);
            let r = http.get(url).bearer_auth(&t).send().await.expect("send");
            assert_eq!(r.status(), 200);
        }
        let r = http
            .post(format!("{base}/api/v1/candidates/{cid}/claim"))
            .bearer_auth(&t)
            .json(&json!({}))
            .send()
            .await
            .expect("send");
        assert!(r.status().is_success(), "claim {}", r.status());
        let v: Value = http
            .post(format!("{base}/api/v1/candidates/{cid}/reveal"))
            .bearer_auth(&t)
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&json!({}))
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
        revealed.push(v["id_number"].as_str().expect("revealed").to_string());
        // A note naming the candidate, and a refused one (422) as well.
        let r = http
            .post(format!("{base}/api/v1/candidates/{cid}/decision"))
            .bearer_auth(&t)
            .json(
                &json!({"level": "site", "decision": "pending", "reasons": ["NOPE"],
                "note": format!("{name} 电话已核对")}),
            )
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 422);
        let decision = if i == 0 { "reject" } else { "pending" };
        let r = http
            .post(format!("{base}/api/v1/candidates/{cid}/decision"))
            .bearer_auth(&t)
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(
                &json!({"level": "site", "decision": decision, "reasons": ["OTHER"],
                "note": format!("{name} 身份证 {}", revealed[i])}),
            )
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200, "decide {cid}");
    }
    server.sigterm();
    assert!(server.wait().await.success());

    // The personal data of those candidates, straight from the database.
    let store = shenhe::server::store::SqliteStore::open(&db)
        .await
        .expect("open db");
    let mut secrets: Vec<String> = revealed.clone();
    for cid in &ids {
        let (name, id_number, phone): (String, String, String) =
            sqlx::query_as("SELECT name, id_number, phone FROM candidates WHERE id = ?")
                .bind(cid)
                .fetch_one(store.pool())
                .await
                .expect("candidate");
        // Percent-encoded too: a logged URL would carry the name that way.
        let encoded: String = url_encode(&name);
        secrets.extend([name, id_number, phone, encoded]);
    }
    store.close().await;
    let text = std::fs::read_to_string(&log).expect("read log");
    assert!(
        text.contains("request"),
        "the log should hold the request lines: {text}"
    );
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "{s:?} is in the log:\n{text}");
    }
}

fn url_encode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_the_request_in_flight() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = ChildServer::start(
        &dir.path().join("drain.db"),
        &dir.path().join("server.log"),
        &["--demo", "--candidates", "0"],
    )
    .await;
    // A login whose body arrives in two parts: the request is in flight
    // (headers read, handler waiting for the rest) when SIGTERM comes.
    let body = br#"{"username":"nanjing","password":"demo"}"#;
    let (head, tail) = body.split_at(10);
    let mut s = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let req = format!(
        "POST /api/v1/session HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        server.addr,
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write head");
    s.write_all(head).await.expect("write part");
    s.flush().await.expect("flush");
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.sigterm();
    wait_for_log(&server, "draining requests").await;
    s.write_all(tail).await.expect("write rest");
    let mut resp = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut resp))
        .await
        .expect("the answer comes")
        .expect("read");
    let text = String::from_utf8_lossy(&resp);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("\"token\""), "{text}");
    assert!(server.wait().await.success(), "{}", server.log_text());
    assert!(server.log_text().contains("stopped"));
}

/// `shenhe migrate --db` migrates and exits 0 (a SQLite file, or with
/// SHENHE_TEST_PG a fresh PostgreSQL database, twice: the second is a
/// no-op); `--db` with another URL scheme is refused, never a file name.
#[tokio::test]
async fn migrate_applies_the_schema_and_other_schemes_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pg = match crate::common::test_pg() {
        Some(admin) => Some(crate::common::PgDatabase::create(&admin).await),
        None => None,
    };
    let db = match &pg {
        Some(p) => p.url.clone(),
        None => dir.path().join("m.db").display().to_string(),
    };
    for _ in 0..2 {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_shenhe"))
            .args(["migrate", "--db", &db])
            .output()
            .await
            .expect("run migrate");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "migrate failed: {err}");
        assert!(err.contains("is up to date"), "{err}");
    }
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_shenhe"))
        .current_dir(dir.path())
        .args(["serve", "--db", "mysql://u@localhost/x"])
        .output()
        .await
        .expect("run serve");
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unsupported database URL scheme"), "{err}");
    assert!(
        !dir.path().join("mysql:").exists(),
        "no file made for the refused URL"
    );
}
