//! The HTTP contract of DESIGN.md, endpoint by endpoint, against a real
//! server over a real SQLite file.

use crate::common;

use common::{TestServer, problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn first(ts: &TestServer, token: &str, state: &str) -> Value {
    ts.candidates(token, Some(state))
        .await
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("a candidate in state {state}"))
}

async fn detail(ts: &TestServer, token: &str, id: i64) -> Value {
    ts.get_json(token, &format!("/api/v1/candidates/{id}"))
        .await
}

fn images(d: &Value) -> Vec<Value> {
    d["materials"]
        .as_array()
        .expect("materials")
        .iter()
        .flat_map(|m| m["images"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn health_reference_data_and_sessions() {
    let ts = TestServer::start_demo(20).await;
    let r = ts
        .client
        .get(ts.url("/api/v1/health"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["x-frame-options"], "DENY");

    let v: Value = ts
        .client
        .get(ts.url("/api/v1/reason-codes"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|r| r["code"] == "BLURRY")
    );
    let v: Value = ts
        .client
        .get(ts.url("/api/v1/material-categories"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let id = &v["items"][0];
    assert_eq!(id["code"], "ID_PROOF");
    assert_eq!(id["fixed_count"], 2);
    assert_eq!(id["slot_labels"][1]["zh"], "反面");

    // Login, me, logout.
    let r = ts
        .client
        .post(ts.url("/api/v1/session"))
        .json(&json!({"username": "nanjing", "password": "demo"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    let token = v["token"].as_str().expect("token").to_string();
    assert!(token.len() >= 32);
    assert_eq!(v["reviewer"]["username"], "nanjing");
    assert_eq!(v["reviewer"]["site"], "南京考点");
    assert_eq!(v["reviewer"]["level"], "site");
    let me: Value = ts.get_json(&token, "/api/v1/me").await;
    assert_eq!(me["reviewer"]["display_name"], "王审核");
    assert_eq!(me["window"]["open"], true);
    let r = ts.delete(&token, "/api/v1/session").await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    problem(ts.get(&token, "/api/v1/me").await, 401, "unauthorized").await;

    // Wrong password, unknown user.
    for (u, p) in [("nanjing", "wrong"), ("nobody", "demo")] {
        let r = ts
            .client
            .post(ts.url("/api/v1/session"))
            .json(&json!({"username": u, "password": p}))
            .send()
            .await
            .expect("send");
        problem(r, 401, "invalid_credentials").await;
    }
    // Forged token.
    problem(
        ts.get("forged-token-value", "/api/v1/me").await,
        401,
        "unauthorized",
    )
    .await;
    let r = ts
        .client
        .get(ts.url("/api/v1/candidates"))
        .send()
        .await
        .expect("send");
    problem(r, 401, "unauthorized").await;
    ts.shutdown().await;
}

#[tokio::test]
async fn expired_token_is_refused_with_its_own_code() {
    use shenhe::server::store::Subject;
    let ts = TestServer::start_demo(0).await;
    let store = ts.server.as_ref().expect("server").store().as_dyn();
    let (token, hash) = shenhe::server::auth::new_token();
    let now = chrono::Utc::now();
    store
        .insert_token(
            &hash,
            Subject::Reviewer(1),
            now - chrono::Duration::hours(13),
            now - chrono::Duration::hours(1),
        )
        .await
        .expect("insert");
    problem(ts.get(&token, "/api/v1/me").await, 401, "token_expired").await;
    ts.shutdown().await;
}

#[tokio::test]
async fn login_rate_limit() {
    let ts = TestServer::start_demo(0).await;
    for _ in 0..5 {
        let r = ts
            .client
            .post(ts.url("/api/v1/session"))
            .json(&json!({"username": "suzhou", "password": "nope"}))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = ts
        .client
        .post(ts.url("/api/v1/session"))
        .json(&json!({"username": "suzhou", "password": "demo"}))
        .send()
        .await
        .expect("send");
    assert!(r.headers().contains_key("retry-after"));
    problem(r, 429, "rate_limited").await;
    // Another user from the same address is not affected.
    ts.login("nanjing").await;
    ts.shutdown().await;
}

#[tokio::test]
async fn queue_filters_counts_search_and_pagination() {
    let ts = TestServer::start_demo(150).await;
    let t = ts.login("nanjing").await;
    let v: Value = ts.get_json(&t, "/api/v1/candidates?limit=10").await;
    let counts = &v["counts"];
    let total: i64 = [
        "awaiting_review",
        "pending",
        "passed",
        "rejected",
        "not_started",
    ]
    .iter()
    .map(|k| counts[k].as_i64().expect("count"))
    .sum();
    assert!(total > 40, "{counts}");
    assert!(counts["awaiting_review"].as_i64().expect("n") > 0);
    assert_eq!(v["items"].as_array().expect("items").len(), 10);
    for it in v["items"].as_array().expect("items") {
        assert!(it["id"].is_i64() && it["name"].is_string() && it["reg_no"].is_string());
        assert_eq!(it["site"], "南京考点");
    }

    // Paging through everything: no repeats, ordered by (submitted_at, id),
    // and as many as the counts say.
    let all = ts.candidates(&t, None).await;
    assert_eq!(all.len() as i64, total);
    let mut ids: Vec<i64> = all.iter().map(|c| c["id"].as_i64().expect("id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all.len());

    for state in [
        "awaiting_review",
        "pending",
        "passed",
        "rejected",
        "not_started",
    ] {
        let items = ts.candidates(&t, Some(state)).await;
        assert_eq!(
            items.len() as i64,
            counts[state].as_i64().expect("n"),
            "{state}"
        );
        assert!(items.iter().all(|c| c["state"] == state), "{state}");
    }

    // Search: name substring, reg_no prefix, ID-number suffix.
    let someone = &all[3];
    let name: String = someone["name"]
        .as_str()
        .expect("name")
        .chars()
        .skip(1)
        .collect();
    let reg_no = someone["reg_no"].as_str().expect("reg_no");
    let hits: Value = ts
        .get_json(&t, &format!("/api/v1/candidates?q={}", urlencode(&name)))
        .await;
    assert!(
        hits["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|c| c["id"] == someone["id"])
    );
    let hits: Value = ts
        .get_json(
            &t,
            &format!("/api/v1/candidates?q={}", &reg_no[..reg_no.len() - 1]),
        )
        .await;
    assert!(
        hits["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|c| c["id"] == someone["id"])
    );
    let d = detail(&ts, &t, someone["id"].as_i64().expect("id")).await;
    let masked = d["id_number"].as_str().expect("id");
    assert!(masked.contains("**********"), "{masked}");
    let tail = &masked[masked.len() - 4..];
    let hits: Value = ts
        .get_json(&t, &format!("/api/v1/candidates?q={tail}"))
        .await;
    assert!(
        hits["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|c| c["id"] == someone["id"])
    );

    // Bad queries.
    problem(
        ts.get(&t, "/api/v1/candidates?state=nope").await,
        400,
        "invalid_query",
    )
    .await;
    problem(
        ts.get(&t, "/api/v1/candidates?limit=0").await,
        400,
        "invalid_query",
    )
    .await;
    problem(
        ts.get(&t, "/api/v1/candidates?limit=abc").await,
        400,
        "invalid_query",
    )
    .await;
    problem(
        ts.get(&t, "/api/v1/candidates?cursor=garbage").await,
        400,
        "invalid_cursor",
    )
    .await;

    // The district sees only what the sites have passed or returned.
    let d = ts.login("jiangsu").await;
    let v: Value = ts.get_json(&d, "/api/v1/candidates?limit=500").await;
    assert_eq!(v["counts"]["not_started"], 0);
    for it in v["items"].as_array().expect("items") {
        assert_ne!(it["district_review"], "not_started", "{it}");
    }
    ts.shutdown().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn dossier_image_content_and_etag() {
    let ts = TestServer::start_demo(30).await;
    let t = ts.login("nanjing").await;
    let c = first(&ts, &t, "awaiting_review").await;
    let d = detail(&ts, &t, c["id"].as_i64().expect("id")).await;
    for k in [
        "version",
        "site_review",
        "district_review",
        "materials",
        "feedback",
    ] {
        assert!(!d[k].is_null(), "{k}");
    }
    assert_eq!(d["materials"].as_array().expect("m").len(), 9);
    let imgs = images(&d);
    assert!(!imgs.is_empty());
    let img = &imgs[0];
    for k in [
        "id", "lock", "verdict", "version", "bytes", "width", "height", "sha256", "hints",
    ] {
        assert!(!img[k].is_null(), "{k}");
    }
    let path = format!("/api/v1/images/{}/content", img["id"]);
    let r = ts.get(&t, &path).await;
    assert_eq!(r.status(), StatusCode::OK);
    let etag = r.headers()["etag"].to_str().expect("etag").to_string();
    assert_eq!(
        etag,
        format!("\"{}\"", img["sha256"].as_str().expect("sha"))
    );
    let bytes = r.bytes().await.expect("bytes");
    assert_eq!(bytes.len() as i64, img["bytes"].as_i64().expect("n"));
    let r = ts
        .req(Method::GET, &path, Some(&t))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    problem(
        ts.get(&t, "/api/v1/candidates/999999").await,
        404,
        "not_found",
    )
    .await;
    problem(
        ts.get(&t, "/api/v1/candidates/abc").await,
        400,
        "bad_request",
    )
    .await;
    problem(
        ts.get(&t, "/api/v1/images/999999/content").await,
        404,
        "not_found",
    )
    .await;
    ts.shutdown().await;
}

#[tokio::test]
async fn lock_unlock_decide_with_versions_feedback_and_audit() {
    let ts = TestServer::start_demo(40).await;
    let t = ts.login("nanjing").await;
    let c = first(&ts, &t, "awaiting_review").await;
    let cid = c["id"].as_i64().expect("id");
    let d = detail(&ts, &t, cid).await;
    let imgs = images(&d);
    let img = imgs
        .iter()
        .find(|i| i["verdict"] == "unreviewed")
        .expect("an unreviewed image")
        .clone();
    let iid = img["id"].as_i64().expect("id");
    let v0 = img["version"].as_i64().expect("v");

    // Unlock without reason / unknown reason / candidate reason / OTHER without note.
    for (body, code) in [
        (json!({}), "reason_required"),
        (json!({"reasons": []}), "reason_required"),
        (json!({"reasons": ["NOPE"]}), "unknown_reason"),
        (json!({"reasons": ["INFO_WRONG"]}), "reason_not_applicable"),
        (json!({"reasons": ["OTHER"]}), "note_required"),
    ] {
        let r = ts
            .post_json(&t, &format!("/api/v1/images/{iid}/unlock"), &body)
            .await;
        problem(r, 422, code).await;
    }
    // Stale version via If-Match and via the body.
    let r = ts
        .req(
            Method::POST,
            &format!("/api/v1/images/{iid}/lock"),
            Some(&t),
        )
        .header("if-match", format!("\"{}\"", v0 + 5))
        .send()
        .await
        .expect("send");
    let p = problem(r, 409, "stale_version").await;
    assert_eq!(p["current_version"], v0);
    assert!(p["changed_by"].is_string(), "{p}");
    let r = ts
        .req(
            Method::POST,
            &format!("/api/v1/images/{iid}/lock"),
            Some(&t),
        )
        .header("if-match", "not-a-version")
        .send()
        .await
        .expect("send");
    problem(r, 400, "invalid_header").await;

    // Lock with the right version.
    let r = ts
        .req(
            Method::POST,
            &format!("/api/v1/images/{iid}/lock"),
            Some(&t),
        )
        .header("if-match", format!("\"{v0}\""))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["image"]["lock"], "locked");
    assert_eq!(v["image"]["verdict"], "accepted");
    assert_eq!(v["image"]["version"], v0 + 1);
    assert_eq!(
        v["candidate_version"],
        d["version"].as_i64().expect("v") + 1
    );
    // Locking again is a state conflict.
    let r = ts
        .post_json(&t, &format!("/api/v1/images/{iid}/lock"), &json!({}))
        .await;
    problem(r, 409, "invalid_transition").await;

    // Unlock with a reason: system feedback appears.
    let r = ts
        .post_json(
            &t,
            &format!("/api/v1/images/{iid}/unlock"),
            &json!({"reasons": ["BLURRY"], "note": "看不清", "expected_version": v0 + 1}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["image"]["lock"], "unlocked");
    assert_eq!(v["image"]["reasons"], json!(["BLURRY"]));
    let unlock_audit = v["audit_id"].as_i64().expect("audit");
    let d = detail(&ts, &t, cid).await;
    let fb = &d["feedback"][0];
    assert_eq!(fb["channel"], "system");
    let body = fb["body"].as_str().expect("body");
    assert!(
        body.contains("未锁定") && body.contains("图片模糊不清"),
        "{body}"
    );

    // Pass is refused while an image is unlocked.
    let version = d["version"].as_i64().expect("v");
    let r = ts
        .post_json(
            &t,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "site", "decision": "pass"}),
        )
        .await;
    problem(r, 409, "unlocked_images").await;
    // Decisions at the wrong level; pending without reasons; OTHER without a note.
    let r = ts
        .post_json(
            &t,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "district", "decision": "pass"}),
        )
        .await;
    problem(r, 403, "wrong_level").await;
    let r = ts
        .post_json(
            &t,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "site", "decision": "pending"}),
        )
        .await;
    problem(r, 422, "reason_required").await;
    let r = ts
        .post_json(
            &t,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "site", "decision": "reject", "reasons": ["OTHER"]}),
        )
        .await;
    problem(r, 422, "note_required").await;
    let r = ts
        .post_json(
            &t,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "site", "decision": "pending", "reasons": ["BLURRY"]}),
        )
        .await;
    problem(r, 422, "reason_not_applicable").await;
    let r = ts
        .post_json(
            &t,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "site", "decision": "pending", "reasons": ["MAT_NONCOMPLIANT"], "expected_version": version - 1}),
        )
        .await;
    problem(r, 409, "stale_version").await;

    // Pending with the right version.
    let r = ts
        .post_json(
            &t,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "site", "decision": "pending", "reasons": ["MAT_NONCOMPLIANT"], "expected_version": version}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["site_review"]["state"], "pending");
    assert_eq!(v["site_review"]["reviewer"], "nanjing");
    let decision_audit = v["audit_id"].as_i64().expect("audit");
    let d = detail(&ts, &t, cid).await;
    assert!(
        d["feedback"][0]["body"]
            .as_str()
            .expect("b")
            .contains("审核待定")
    );

    // Phone feedback; audit log lists everything with ids and keys.
    let r = ts
        .req(
            Method::POST,
            &format!("/api/v1/candidates/{cid}/feedback"),
            Some(&t),
        )
        .header("idempotency-key", "0b7e2a52-8d4e-4c1e-9a51-2f3c1d6e7f80")
        .json(&json!({"channel": "phone", "body": "已电话通知考生"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = ts
        .post_json(
            &t,
            &format!("/api/v1/candidates/{cid}/feedback"),
            &json!({"channel": "fax", "body": "x"}),
        )
        .await;
    problem(r, 422, "invalid_field").await;
    let r = ts
        .post_json(
            &t,
            &format!("/api/v1/candidates/{cid}/feedback"),
            &json!({"channel": "sms", "body": "  "}),
        )
        .await;
    problem(r, 422, "invalid_field").await;
    let a: Value = ts
        .get_json(&t, &format!("/api/v1/candidates/{cid}/audit"))
        .await;
    let items = a["items"].as_array().expect("items");
    for k in ["id", "at", "actor", "action", "idempotency_key"] {
        assert!(items[0].as_object().expect("obj").contains_key(k), "{k}");
    }
    assert!(items.iter().any(|e| e["action"] == "candidate.feedback"
        && e["idempotency_key"] == "0b7e2a52-8d4e-4c1e-9a51-2f3c1d6e7f80"));
    assert!(
        items
            .iter()
            .any(|e| e["id"] == unlock_audit && e["action"] == "image.unlock")
    );

    // Undo the pending: back to awaiting review; undoing the unlock then
    // works too; undoing twice conflicts; feedback is not undoable.
    let r = ts
        .post_json(
            &t,
            &format!("/api/v1/audit/{decision_audit}/undo"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["candidate"]["site_review"]["state"], "awaiting_review");
    let r = ts
        .post_json(
            &t,
            &format!("/api/v1/audit/{decision_audit}/undo"),
            &json!({}),
        )
        .await;
    problem(r, 409, "undo_conflict").await;
    let r = ts
        .post_json(
            &t,
            &format!("/api/v1/audit/{unlock_audit}/undo"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    let img = images(&v["candidate"])
        .into_iter()
        .find(|i| i["id"] == iid)
        .expect("image");
    assert_eq!(img["verdict"], "accepted");
    let fb_event = items
        .iter()
        .find(|e| e["action"] == "candidate.feedback")
        .expect("feedback event")["id"]
        .as_i64()
        .expect("id");
    let r = ts
        .post_json(&t, &format!("/api/v1/audit/{fb_event}/undo"), &json!({}))
        .await;
    problem(r, 409, "not_undoable").await;
    problem(
        ts.post_json(&t, "/api/v1/audit/99999999/undo", &json!({}))
            .await,
        404,
        "not_found",
    )
    .await;

    // Reveal the ID number: audited.
    let r = ts
        .post_json(&t, &format!("/api/v1/candidates/{cid}/reveal"), &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    let full = v["id_number"].as_str().expect("id");
    assert!(
        shenhe::domain::identity::validate_id_number(full).is_ok(),
        "{full}"
    );
    let a: Value = ts
        .get_json(&t, &format!("/api/v1/candidates/{cid}/audit"))
        .await;
    assert!(
        a["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|e| e["action"] == "candidate.reveal_id")
    );
    ts.shutdown().await;
}

#[tokio::test]
async fn idempotency_replays_and_refuses_reuse() {
    let ts = TestServer::start_demo(30).await;
    let t = ts.login("nanjing").await;
    let c = first(&ts, &t, "awaiting_review").await;
    let cid = c["id"].as_i64().expect("id");
    let img = images(&detail(&ts, &t, cid).await)
        .into_iter()
        .find(|i| i["verdict"] == "unreviewed")
        .expect("image");
    let path = format!("/api/v1/images/{}/lock", img["id"]);
    let send = |key: &'static str, body: Value| {
        ts.req(Method::POST, &path, Some(&t))
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let r1 = send("5d0c6a1e-3b2f-4e8a-9c7d-1a2b3c4d5e6f", json!({}))
        .await
        .expect("send");
    assert_eq!(r1.status(), StatusCode::OK);
    let b1: Value = r1.json().await.expect("json");
    let r2 = send("5d0c6a1e-3b2f-4e8a-9c7d-1a2b3c4d5e6f", json!({}))
        .await
        .expect("send");
    assert_eq!(r2.status(), StatusCode::OK);
    assert_eq!(r2.headers()["idempotent-replayed"], "true");
    let b2: Value = r2.json().await.expect("json");
    assert_eq!(b1, b2);
    problem(
        send(
            "5d0c6a1e-3b2f-4e8a-9c7d-1a2b3c4d5e6f",
            json!({"expected_version": 1}),
        )
        .await
        .expect("send"),
        422,
        "idempotency_key_reused",
    )
    .await;
    // Only one lock event.
    let a: Value = ts
        .get_json(&t, &format!("/api/v1/candidates/{cid}/audit"))
        .await;
    let locks = a["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| {
            e["action"] == "image.lock"
                && e["idempotency_key"] == "5d0c6a1e-3b2f-4e8a-9c7d-1a2b3c4d5e6f"
        })
        .count();
    assert_eq!(locks, 1);
    ts.shutdown().await;
}

#[tokio::test]
async fn claims() {
    let ts = TestServer::start_demo(30).await;
    let nj = ts.login("nanjing").await;
    let dist = ts.login("jiangsu").await;
    let c = first(&ts, &dist, "awaiting_review").await;
    let cid = c["id"].as_i64().expect("id");
    let site_token = if c["site"] == "南京考点" {
        nj.clone()
    } else {
        ts.login("suzhou").await
    };
    let r = ts
        .post_json(
            &dist,
            &format!("/api/v1/candidates/{cid}/claim"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["reviewer"], "jiangsu");
    assert_eq!(v["mine"], true);
    // Renewal by the holder is fine; another reviewer gets 409 claimed.
    let r = ts
        .post_json(
            &dist,
            &format!("/api/v1/candidates/{cid}/claim"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = ts
        .post_json(
            &site_token,
            &format!("/api/v1/candidates/{cid}/claim"),
            &json!({}),
        )
        .await;
    let p = problem(r, 409, "claimed").await;
    assert_eq!(p["held_by"], "jiangsu");
    assert!(p["held_until"].is_string());
    let d = detail(&ts, &site_token, cid).await;
    assert_eq!(d["claim"]["reviewer"], "jiangsu");
    assert_eq!(d["claim"]["mine"], false);
    // Release; then the other can claim.
    let r = ts
        .delete(&dist, &format!("/api/v1/candidates/{cid}/claim"))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = ts
        .post_json(
            &site_token,
            &format!("/api/v1/candidates/{cid}/claim"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    ts.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_get_problems() {
    let ts = TestServer::start_demo(5).await;
    let t = ts.login("nanjing").await;
    // Malformed JSON.
    let r = ts
        .req(Method::POST, "/api/v1/session", None)
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .expect("send");
    problem(r, 400, "malformed_json").await;
    // Wrong content type.
    let r = ts
        .req(Method::POST, "/api/v1/session", None)
        .header("content-type", "text/plain")
        .body("username=nanjing")
        .send()
        .await
        .expect("send");
    problem(r, 415, "unsupported_media_type").await;
    // Missing fields.
    let r = ts
        .req(Method::POST, "/api/v1/session", None)
        .json(&json!({"username": "nanjing"}))
        .send()
        .await
        .expect("send");
    problem(r, 422, "invalid_field").await;
    // A huge body.
    let huge = format!(
        "{{\"channel\":\"sms\",\"body\":\"{}\"}}",
        "a".repeat(200_000)
    );
    let r = ts
        .req(Method::POST, "/api/v1/candidates/1/feedback", Some(&t))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("send");
    problem(r, 413, "payload_too_large").await;
    // Unknown route, wrong method.
    problem(ts.get(&t, "/api/v1/nope").await, 404, "not_found").await;
    // (`/` itself is the candidates' login page, src/web.)
    problem(ts.get(&t, "/nope").await, 404, "not_found").await;
    let r = ts
        .req(Method::PUT, "/api/v1/health", None)
        .send()
        .await
        .expect("send");
    problem(r, 405, "method_not_allowed").await;
    ts.shutdown().await;
}

#[tokio::test]
async fn server_sent_events_follow_the_scope() {
    use futures::StreamExt;
    let ts = TestServer::start_demo(40).await;
    let nj = ts.login("nanjing").await;
    let sz = ts.login("suzhou").await;
    let nj_events = ts
        .req(Method::GET, "/api/v1/events", Some(&nj))
        .send()
        .await
        .expect("send");
    assert_eq!(nj_events.status(), StatusCode::OK);
    assert!(
        nj_events.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/event-stream")
    );
    let sz_events = ts
        .req(Method::GET, "/api/v1/events", Some(&sz))
        .send()
        .await
        .expect("send");
    // A Suzhou change, then a Nanjing one: Nanjing's stream sees only its own.
    let szc = first(&ts, &sz, "awaiting_review").await;
    let r = ts
        .post_json(
            &sz,
            &format!("/api/v1/candidates/{}/claim", szc["id"]),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let njc = first(&ts, &nj, "awaiting_review").await;
    let r = ts
        .post_json(
            &nj,
            &format!("/api/v1/candidates/{}/claim", njc["id"]),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    let mut stream = nj_events.bytes_stream();
    let mut buf = String::new();
    while !buf.contains("\n\n") {
        let chunk = stream.next().await.expect("event").expect("bytes");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(buf.contains("event: candidate"), "{buf}");
    let data = buf
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .expect("data line");
    let ev: Value = serde_json::from_str(data).expect("json");
    assert_eq!(ev["candidate_id"], njc["id"]);
    assert_eq!(ev["action"], "claim");
    assert_eq!(ev["actor"], "nanjing");

    let mut stream = sz_events.bytes_stream();
    let mut buf = String::new();
    while !buf.contains("\n\n") {
        let chunk = stream.next().await.expect("event").expect("bytes");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data = buf
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .expect("data line");
    let ev: Value = serde_json::from_str(data).expect("json");
    assert_eq!(ev["candidate_id"], szc["id"]);
    // Shutdown ends the streams rather than waiting for them.
    ts.shutdown().await;
}
