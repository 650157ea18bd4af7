//! The idempotency crash window, above all for the actions the audit log
//! cannot answer a retry for by itself: feedback (a retry would record it
//! twice) and undo (a retry would be refused as already undone). A judging
//! action's stored answer commits with the action, so:
//!
//! - the answer is in the database before the client has it (no state in
//!   which the action is committed and its answer is not), and
//! - a SIGKILL right after the answer, then a retry with the same key
//!   against the restarted process, replays that answer byte for byte and
//!   acts once.

use crate::common;
use crate::support::child_server::ChildServer;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

struct Api<'a> {
    http: &'a Client,
    base: &'a str,
    token: &'a str,
}

impl Api<'_> {
    async fn post(&self, path: &str, key: Option<&str>, body: &Value) -> reqwest::Response {
        let mut r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.token)
            .json(body);
        if let Some(k) = key {
            r = r.header("idempotency-key", k);
        }
        r.send().await.expect("send")
    }

    async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.token)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        r.json().await.expect("json")
    }

    /// An awaiting candidate made pending (the undo's target); its audit id.
    async fn pending(&self, cid: i64) -> i64 {
        let r = self
            .post(
                &format!("/api/v1/candidates/{cid}/decision"),
                None,
                &json!({"level": "site", "decision": "pending", "reasons": ["ONSITE"]}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "decision");
        let v: Value = r.json().await.expect("json");
        v["audit_id"].as_i64().expect("audit_id")
    }

    /// Audit events of the candidate with this key.
    async fn events_with_key(&self, cid: i64, key: &str) -> Vec<Value> {
        let audit = self.get(&format!("/api/v1/candidates/{cid}/audit")).await;
        audit["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|e| e["idempotency_key"] == key)
            .cloned()
            .collect()
    }
}

async fn login(http: &Client, base: &str, user: &str) -> String {
    let r = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": user, "password": "demo"}))
        .send()
        .await
        .expect("login");
    let v: Value = r.json().await.expect("json");
    v["token"].as_str().expect("token").to_string()
}

async fn awaiting(api: &Api<'_>) -> Vec<i64> {
    let page = api
        .get("/api/v1/candidates?state=awaiting_review&limit=10")
        .await;
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect()
}

const FEEDBACK: &str = "已电话通知考生补交学历证明";

fn feedback_body() -> Value {
    json!({"channel": "phone", "body": FEEDBACK})
}

/// The stored answer for `key`, read from the database itself (either engine).
async fn stored(ts: &common::TestServer, key: &str) -> Option<(i64, Vec<u8>)> {
    const SQL: &str = "SELECT status, body FROM idempotency WHERE key LIKE '% ' || ?";
    let server = ts.server.as_ref().expect("server");
    match (server.sqlite_store(), server.store().postgres()) {
        (Some(s), _) => sqlx::query_as(SQL).bind(key).fetch_optional(s.pool()).await,
        (None, Some(p)) => {
            sqlx::query_as(sqlx::AssertSqlSafe(shenhe::server::store::postgres::pg(
                SQL,
            )))
            .bind(key)
            .fetch_optional(p.pool())
            .await
        }
        (None, None) => unreachable!("a store of neither engine"),
    }
    .expect("read idempotency")
}

#[tokio::test]
async fn feedback_and_undo_answers_are_committed_before_they_are_sent() {
    let ts = common::TestServer::start_demo(20).await;
    let http = Client::new();
    let base = ts.url("");
    let token = ts.login("nanjing").await;
    let api = Api {
        http: &http,
        base: &base,
        token: &token,
    };
    let cids = awaiting(&api).await;

    let key = uuid::Uuid::new_v4().to_string();
    let path = format!("/api/v1/candidates/{}/feedback", cids[0]);
    let r = api.post(&path, Some(&key), &feedback_body()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let sent = r.bytes().await.expect("body").to_vec();
    // Read at once: had the answer been stored after it was sent, a crash
    // here would leave the feedback without it.
    assert_eq!(stored(&ts, &key).await, Some((201, sent.clone())));
    let r = api.post(&path, Some(&key), &feedback_body()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    assert_eq!(r.bytes().await.expect("body").to_vec(), sent);
    assert_eq!(api.events_with_key(cids[0], &key).await.len(), 1);

    let event = api.pending(cids[1]).await;
    let key = uuid::Uuid::new_v4().to_string();
    let path = format!("/api/v1/audit/{event}/undo");
    let r = api.post(&path, Some(&key), &json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let sent = r.bytes().await.expect("body").to_vec();
    assert_eq!(stored(&ts, &key).await, Some((200, sent.clone())));
    let r = api.post(&path, Some(&key), &json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    assert_eq!(r.bytes().await.expect("body").to_vec(), sent);
    assert_eq!(api.events_with_key(cids[1], &key).await.len(), 1);

    // A decision stores its answer the same way (one writer job, one fsync).
    let key = uuid::Uuid::new_v4().to_string();
    let r = api
        .post(
            &format!("/api/v1/candidates/{}/decision", cids[2]),
            Some(&key),
            &json!({"level": "site", "decision": "pending", "reasons": ["ONSITE"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let sent = r.bytes().await.expect("body").to_vec();
    assert_eq!(stored(&ts, &key).await, Some((200, sent)));
    ts.shutdown().await;
}

#[tokio::test]
async fn feedback_and_undo_retried_after_a_sigkill_replay_their_answer() {
    // A child `shenhe serve` on a SQLite file, killed and restarted.
    if common::sqlite_only("feedback_and_undo_retried_after_a_sigkill") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("s.db");
    let mut server = ChildServer::start(
        &db,
        &dir.path().join("s.log"),
        &["--demo", "--candidates", "20"],
    )
    .await;
    let http = Client::new();
    let base = server.base_url.clone();
    let token = login(&http, &base, "nanjing").await;
    let api = Api {
        http: &http,
        base: &base,
        token: &token,
    };
    let cids = awaiting(&api).await;
    let event = api.pending(cids[1]).await;

    // Killed the moment each answer arrives, no grace for a write after it.
    let fb_key = uuid::Uuid::new_v4().to_string();
    let fb_path = format!("/api/v1/candidates/{}/feedback", cids[0]);
    let r = api.post(&fb_path, Some(&fb_key), &feedback_body()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let fb_sent = r.bytes().await.expect("body").to_vec();
    server.kill9().await;
    server.restart().await;

    // Tokens live in the database: the same session goes on.
    let base = server.base_url.clone();
    let api = Api {
        http: &http,
        base: &base,
        token: &token,
    };
    let undo_key = uuid::Uuid::new_v4().to_string();
    let undo_path = format!("/api/v1/audit/{event}/undo");
    let r = api.post(&undo_path, Some(&undo_key), &json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let undo_sent = r.bytes().await.expect("body").to_vec();
    server.kill9().await;
    server.restart().await;

    let base = server.base_url.clone();
    let api = Api {
        http: &http,
        base: &base,
        token: &token,
    };
    let r = api.post(&fb_path, Some(&fb_key), &feedback_body()).await;
    assert_eq!(r.status(), StatusCode::CREATED, "the feedback's retry");
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    assert_eq!(r.bytes().await.expect("body").to_vec(), fb_sent);
    let r = api.post(&undo_path, Some(&undo_key), &json!({})).await;
    assert_eq!(r.status(), StatusCode::OK, "the undo's retry");
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    assert_eq!(r.bytes().await.expect("body").to_vec(), undo_sent);

    assert_eq!(api.events_with_key(cids[0], &fb_key).await.len(), 1);
    let dossier = api.get(&format!("/api/v1/candidates/{}", cids[0])).await;
    let mine = dossier["feedback"]
        .as_array()
        .expect("feedback")
        .iter()
        .filter(|f| f["body"] == FEEDBACK)
        .count();
    assert_eq!(mine, 1, "the feedback is recorded once");
    assert_eq!(api.events_with_key(cids[1], &undo_key).await.len(), 1);
    server.sigterm();
    server.wait().await;
}
