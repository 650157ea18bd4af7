//! The follow-up list and the overview (issue 12): `shenhe export` writes a
//! CSV that parses, starts with the BOM, holds only the caller's scope,
//! leaves out what can still be undone and neutralises formulas; the
//! overview's counts equal the queues'.

use crate::common;

use std::collections::BTreeSet;
use tokio::process::Command;

use common::TestServer;
use serde_json::{Value, json};

async fn export(ts: &TestServer, token: &str, args: &[&str]) -> (std::process::Output, Vec<u8>) {
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("list.csv");
    let o = Command::new(env!("CARGO_BIN_EXE_shenhe"))
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("SHENHE_TOKEN", token)
        .arg("--server")
        .arg(&ts.base_url)
        .arg("export")
        .args(args)
        .arg("-o")
        .arg(&out)
        .output()
        .await
        .expect("run shenhe export");
    let bytes = std::fs::read(&out).unwrap_or_default();
    (o, bytes)
}

/// The CSV's rows (header first), read by an independent parser.
fn rows(bytes: &[u8]) -> Vec<Vec<String>> {
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "no BOM");
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&bytes[3..]);
    r.records()
        .map(|rec| {
            rec.expect("a CSV record")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

async fn counts(ts: &TestServer, token: &str) -> Value {
    let v: Value = ts.get_json(token, "/api/v1/candidates?limit=1").await;
    v["counts"].clone()
}

#[tokio::test]
async fn export_writes_the_scope_final_and_safe() {
    let ts = TestServer::start_custom(Some(60), common::open_window(), |c| {
        c.undo_window = chrono::Duration::seconds(1);
    })
    .await;
    let site = ts.login("nanjing").await;
    // A fresh pending decision with a note a spreadsheet would run.
    let waiting = ts.candidates(&site, Some("awaiting_review")).await;
    let cid = waiting[0]["id"].as_i64().expect("id");
    let reg_no = waiting[0]["reg_no"].as_str().expect("reg").to_string();
    let r = ts
        .post_json(
            &site,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "site", "decision": "pending", "reasons": ["OTHER"],
                    "note": "=HYPERLINK(\"http://x\",\"点我\")"}),
        )
        .await;
    assert_eq!(r.status(), 200);

    // Within its undo window it is left out, and the count says so.
    let (o, bytes) = export(&ts, &site, &["--state", "pending"]).await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("仍可撤销"), "{stderr}");
    let table = rows(&bytes);
    assert_eq!(table[0][0], "报名号");
    assert!(
        !table.iter().any(|r| r[0] == reg_no),
        "listed while undoable"
    );

    // After the window: listed, formula neutralised, and now final.
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let (o, bytes) = export(&ts, &site, &["--state", "pending"]).await;
    assert!(o.status.success());
    let table = rows(&bytes);
    let row = table
        .iter()
        .find(|r| r[0] == reg_no)
        .expect("the candidate, once final");
    assert_eq!(row[8], "'=HYPERLINK(\"http://x\",\"点我\")");
    assert!(row[2].contains('*'), "masked ID: {}", row[2]);
    assert!(
        row[3].chars().all(|c| c.is_ascii_digit()),
        "full phone: {}",
        row[3]
    );

    // Exactly the scope: nanjing's pending, not suzhou's.
    let pending: BTreeSet<String> = ts
        .candidates(&site, Some("pending"))
        .await
        .iter()
        .map(|c| c["reg_no"].as_str().expect("reg").to_string())
        .collect();
    let listed: BTreeSet<String> = table[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(listed, pending);
    let suzhou = ts.login("suzhou").await;
    for c in ts.candidates(&suzhou, Some("pending")).await {
        assert!(!listed.contains(c["reg_no"].as_str().expect("reg")));
    }
    assert!(table[1..].iter().all(|r| r[4] == "南京考点"));

    // The listed decision can no longer be undone.
    let audit: Value = ts
        .get_json(&site, &format!("/api/v1/candidates/{cid}/audit"))
        .await;
    let ev = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .rev()
        .find(|e| e["action"] == "candidate.decision")
        .expect("decision")["id"]
        .clone();
    let r = ts
        .post_json(&site, &format!("/api/v1/audit/{ev}/undo"), &json!({}))
        .await;
    common::problem(r, 409, "undo_window_closed").await;

    // Not logged in: exit 3.
    let (o, _) = export(&ts, "not-a-token", &[]).await;
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    ts.shutdown().await;
}

#[tokio::test]
async fn the_overview_counts_what_the_queues_count() {
    let ts = TestServer::start_demo(80).await;
    let nanjing = ts.login("nanjing").await;
    let suzhou = ts.login("suzhou").await;
    let district = ts.login("jiangsu").await;

    // A site sees its own site only, counted as its queue counts.
    let s: Value = ts.get_json(&nanjing, "/api/v1/stats?stale_days=2").await;
    let sites = s["sites"].as_array().expect("sites");
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0]["site"], "南京考点");
    assert_eq!(sites[0]["site_counts"], counts(&ts, &nanjing).await);
    assert_eq!(s["total"]["site_counts"], counts(&ts, &nanjing).await);
    assert_eq!(s["stale_days"], 2);
    assert_eq!(s["total"]["per_day"].as_array().map(Vec::len), Some(7));

    // The district: each site as that site's queue, the total as its own.
    let d: Value = ts.get_json(&district, "/api/v1/stats").await;
    let by_site = |name: &str| {
        d["sites"]
            .as_array()
            .expect("sites")
            .iter()
            .find(|x| x["site"] == name)
            .cloned()
            .expect("site row")
    };
    assert_eq!(
        by_site("南京考点")["site_counts"],
        counts(&ts, &nanjing).await
    );
    assert_eq!(
        by_site("苏州考点")["site_counts"],
        counts(&ts, &suzhou).await
    );
    let mut queue = counts(&ts, &district).await;
    // The district's queue does not count what sites have not passed.
    queue["not_started"] = json!(0);
    assert_eq!(d["total"]["district_counts"], queue);

    // A decision today shows in today's pace.
    let today_before = d["total"]["per_day"][6]["decisions"].as_i64().expect("n");
    let c = &ts.candidates(&district, Some("awaiting_review")).await[0];
    let r = ts
        .post_json(
            &district,
            &format!("/api/v1/candidates/{}/decision", c["id"]),
            &json!({"level": "district", "decision": "pass"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let d: Value = ts.get_json(&district, "/api/v1/stats").await;
    assert_eq!(
        d["total"]["per_day"][6]["decisions"].as_i64(),
        Some(today_before + 1)
    );
    assert!(d["total"]["remaining"].as_i64().is_some());
    assert!(d["window"]["days_left"].as_i64().is_some());
    ts.shutdown().await;
}

/// The server's 408: a request that does not arrive in time is answered
/// with problem+json `request_timeout`, not left hanging.
#[tokio::test]
async fn a_slow_request_gets_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ts = TestServer::start_custom(None, common::open_window(), |c| {
        c.request_timeout = std::time::Duration::from_millis(800);
    })
    .await;
    let addr = ts.base_url.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    // The head and a part of the body; the rest never comes.
    s.write_all(
        b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"username\":",
    )
    .await
    .expect("write");
    let mut buf = Vec::new();
    let t = std::time::Instant::now();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(20), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(text.contains("\"code\":\"request_timeout\""), "{text}");
    assert!(t.elapsed() < std::time::Duration::from_secs(10));
    ts.shutdown().await;
}
