//! Every attack of the security table (README of bench/ and the issue): one
//! test each, asserting the precise refusal (status and problem code) and
//! that nothing changed.

use crate::common;

use common::{TestServer, problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn images(d: &Value) -> Vec<Value> {
    d["materials"]
        .as_array()
        .expect("materials")
        .iter()
        .flat_map(|m| m["images"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// What a reviewer of the candidate's own site sees of it: enough to tell
/// that nothing changed.
async fn snapshot(ts: &TestServer, token: &str, cid: i64) -> (Value, Value) {
    let d: Value = ts
        .get_json(token, &format!("/api/v1/candidates/{cid}"))
        .await;
    let a: Value = ts
        .get_json(token, &format!("/api/v1/candidates/{cid}/audit"))
        .await;
    // The claim expires on its own clock; everything else must be equal.
    let mut d = d;
    d["claim"] = Value::Null;
    (d, a)
}

async fn suzhou_candidate(ts: &TestServer, sz: &str) -> (i64, i64) {
    let theirs = ts.candidates(sz, Some("awaiting_review")).await;
    let cid = theirs[0]["id"].as_i64().expect("id");
    let d: Value = ts.get_json(sz, &format!("/api/v1/candidates/{cid}")).await;
    let iid = images(&d)[0]["id"].as_i64().expect("image id");
    (cid, iid)
}

#[tokio::test]
async fn cross_site_read_is_not_found() {
    let ts = TestServer::start_demo(40).await;
    let nj = ts.login("nanjing").await;
    let sz = ts.login("suzhou").await;
    let (cid, iid) = suzhou_candidate(&ts, &sz).await;
    for path in [
        format!("/api/v1/candidates/{cid}"),
        format!("/api/v1/candidates/{cid}/audit"),
        format!("/api/v1/images/{iid}/content"),
    ] {
        problem(ts.get(&nj, &path).await, 404, "not_found").await;
    }
    ts.shutdown().await;
}

#[tokio::test]
async fn cross_site_write_is_not_found_and_changes_nothing() {
    let ts = TestServer::start_demo(40).await;
    let nj = ts.login("nanjing").await;
    let sz = ts.login("suzhou").await;
    let (cid, iid) = suzhou_candidate(&ts, &sz).await;
    let before = snapshot(&ts, &sz, cid).await;
    for (path, body) in [
        (format!("/api/v1/images/{iid}/lock"), json!({})),
        (
            format!("/api/v1/images/{iid}/unlock"),
            json!({"reasons": ["BLURRY"]}),
        ),
        (
            format!("/api/v1/candidates/{cid}/decision"),
            json!({"level": "site", "decision": "reject", "reasons": ["INELIGIBLE"]}),
        ),
        (format!("/api/v1/candidates/{cid}/claim"), json!({})),
        (
            format!("/api/v1/candidates/{cid}/feedback"),
            json!({"channel": "sms", "body": "x"}),
        ),
        (format!("/api/v1/candidates/{cid}/reveal"), json!({})),
    ] {
        problem(ts.post_json(&nj, &path, &body).await, 404, "not_found").await;
    }
    assert_eq!(snapshot(&ts, &sz, cid).await, before);
    ts.shutdown().await;
}

#[tokio::test]
async fn cross_origin_requests_are_not_granted() {
    let ts = TestServer::start_demo(0).await;
    // A browser's preflight for a cross-site write with a token.
    let r = ts
        .req(Method::OPTIONS, "/api/v1/candidates/1/decision", None)
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("send");
    assert!(
        !r.status().is_success(),
        "preflight granted: {}",
        r.status()
    );
    for h in [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-allow-credentials",
    ] {
        assert!(!r.headers().contains_key(h), "{h} on a preflight");
    }
    // A simple cross-origin read: answered, but without CORS headers the
    // browser does not hand it to the page.
    let t = ts.login("nanjing").await;
    let r = ts
        .req(Method::GET, "/api/v1/me", Some(&t))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("send");
    assert!(!r.headers().contains_key("access-control-allow-origin"));
    ts.shutdown().await;
}

#[tokio::test]
async fn wrong_level_decision_is_forbidden_and_changes_nothing() {
    let ts = TestServer::start_demo(40).await;
    let nj = ts.login("nanjing").await;
    let js = ts.login("jiangsu").await;
    let mine = ts.candidates(&nj, Some("awaiting_review")).await;
    let cid = mine[0]["id"].as_i64().expect("id");
    let before = snapshot(&ts, &nj, cid).await;
    // A site reviewer deciding at the district level.
    let r = ts
        .post_json(
            &nj,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "district", "decision": "pass"}),
        )
        .await;
    problem(r, 403, "wrong_level").await;
    assert_eq!(snapshot(&ts, &nj, cid).await, before);
    // A district reviewer deciding for the site, on one it can see.
    let theirs = ts.candidates(&js, None).await;
    let did = theirs[0]["id"].as_i64().expect("id");
    let before = snapshot(&ts, &js, did).await;
    let r = ts
        .post_json(
            &js,
            &format!("/api/v1/candidates/{did}/decision"),
            &json!({"level": "site", "decision": "reject", "reasons": ["INELIGIBLE"]}),
        )
        .await;
    problem(r, 403, "wrong_level").await;
    assert_eq!(snapshot(&ts, &js, did).await, before);
    ts.shutdown().await;
}

#[tokio::test]
async fn forged_token_is_unauthorized() {
    let ts = TestServer::start_demo(0).await;
    let real = ts.login("nanjing").await;
    // Random garbage, a real token with one character changed, an empty
    // bearer, another scheme.
    let mut tampered = real.clone().into_bytes();
    tampered[0] = if tampered[0] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    for t in ["forged-token-value", tampered.as_str()] {
        problem(ts.get(t, "/api/v1/me").await, 401, "unauthorized").await;
    }
    for auth in ["Bearer ", "Basic bmFuamluZzpkZW1v", real.as_str()] {
        let r = ts
            .req(Method::GET, "/api/v1/candidates", None)
            .header("authorization", auth)
            .send()
            .await
            .expect("send");
        problem(r, 401, "unauthorized").await;
    }
    ts.shutdown().await;
}

#[tokio::test]
async fn expired_token_is_unauthorized() {
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
            now - chrono::Duration::seconds(1),
        )
        .await
        .expect("insert");
    problem(
        ts.get(&token, "/api/v1/candidates").await,
        401,
        "token_expired",
    )
    .await;
    ts.shutdown().await;
}

#[tokio::test]
async fn revoked_token_is_unauthorized() {
    let ts = TestServer::start_demo(5).await;
    let t = ts.login("nanjing").await;
    let r = ts.delete(&t, "/api/v1/session").await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    problem(ts.get(&t, "/api/v1/me").await, 401, "unauthorized").await;
    let r = ts
        .post_json(
            &t,
            "/api/v1/candidates/1/decision",
            &json!({"level": "site", "decision": "pass"}),
        )
        .await;
    problem(r, 401, "unauthorized").await;
    ts.shutdown().await;
}

#[tokio::test]
async fn token_from_another_server_is_unauthorized() {
    let a = TestServer::start_demo(0).await;
    let b = TestServer::start_demo(0).await;
    // Same accounts, same password, even the same seed: a token is only a
    // random value known to the server that issued it.
    let from_a = a.login("nanjing").await;
    problem(b.get(&from_a, "/api/v1/me").await, 401, "unauthorized").await;
    a.get_json::<Value>(&from_a, "/api/v1/me").await;
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn candidate_token_on_the_reviewer_side_is_unauthorized() {
    let ts = TestServer::start_demo(5).await;
    let nj = ts.login("nanjing").await;
    let c = &ts.candidates(&nj, None).await[0];
    let ct = ts
        .login_candidate(c["reg_no"].as_str().expect("reg_no"))
        .await;
    problem(ts.get(&ct, "/api/v1/candidates").await, 401, "unauthorized").await;
    problem(
        ts.get(&nj, "/api/v1/candidate/me").await,
        401,
        "unauthorized",
    )
    .await;
    ts.shutdown().await;
}

#[tokio::test]
async fn brute_force_login_is_rate_limited() {
    let ts = TestServer::start_demo(0).await;
    let attempt = |password: &'static str| {
        ts.client
            .post(ts.url("/api/v1/session"))
            .json(&json!({"username": "nanjing", "password": password}))
            .send()
    };
    for guess in ["123456", "password", "nanjing", "admin", "demo1"] {
        problem(
            attempt(guess).await.expect("send"),
            401,
            "invalid_credentials",
        )
        .await;
    }
    // Now even the right password is refused until the window passes.
    let r = attempt("demo").await.expect("send");
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(wait >= 1);
    problem(r, 429, "rate_limited").await;
    // An unknown username is limited the same way (no user enumeration).
    for _ in 0..5 {
        let r = ts
            .client
            .post(ts.url("/api/v1/session"))
            .json(&json!({"username": "nobody", "password": "x"}))
            .send()
            .await
            .expect("send");
        problem(r, 401, "invalid_credentials").await;
    }
    let r = ts
        .client
        .post(ts.url("/api/v1/session"))
        .json(&json!({"username": "nobody", "password": "x"}))
        .send()
        .await
        .expect("send");
    problem(r, 429, "rate_limited").await;
    ts.shutdown().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_and_change_nothing() {
    let ts = TestServer::start_demo(20).await;
    let nj = ts.login("nanjing").await;
    let cid = ts.candidates(&nj, Some("awaiting_review")).await[0]["id"]
        .as_i64()
        .expect("id");
    let before = snapshot(&ts, &nj, cid).await;
    let huge_note = "说".repeat(100_000);
    for (path, body) in [
        (
            format!("/api/v1/candidates/{cid}/feedback"),
            json!({"channel": "sms", "body": huge_note}),
        ),
        (
            format!("/api/v1/candidates/{cid}/decision"),
            json!({"level": "site", "decision": "pending", "reasons": ["OTHER"], "note": huge_note}),
        ),
    ] {
        problem(
            ts.post_json(&nj, &path, &body).await,
            413,
            "payload_too_large",
        )
        .await;
    }
    // Also with an Idempotency-Key (the replay layer reads bodies itself).
    let r = ts
        .req(
            Method::POST,
            &format!("/api/v1/candidates/{cid}/feedback"),
            Some(&nj),
        )
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&json!({"channel": "sms", "body": "x".repeat(1_000_000)}))
        .send()
        .await
        .expect("send");
    problem(r, 413, "payload_too_large").await;
    // A login body far over the limit.
    let r = ts
        .req(Method::POST, "/api/v1/session", None)
        .json(&json!({"username": "nanjing", "password": "p".repeat(200_000)}))
        .send()
        .await
        .expect("send");
    problem(r, 413, "payload_too_large").await;
    assert_eq!(snapshot(&ts, &nj, cid).await, before);
    ts.shutdown().await;
}

#[tokio::test]
async fn path_tricks_in_ids_are_client_errors_never_500() {
    let ts = TestServer::start_demo(5).await;
    let nj = ts.login("nanjing").await;
    let tricks = [
        "..",
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e",
        "%2e%2e%2f1",
        "1;DROP%20TABLE%20candidates",
        "1%20OR%201=1",
        "99999999999999999999999999",
        "9223372036854775807",
        "-1",
        "0",
        "%D9%A1%D9%A2", // Arabic-Indic digits ١٢
        "%EF%BC%91",    // fullwidth digit １
        "1e3",
        "0x10",
        "%00",
        "1%0A",
    ];
    let mut paths = Vec::new();
    for t in tricks {
        paths.push((Method::GET, format!("/api/v1/candidates/{t}")));
        paths.push((Method::GET, format!("/api/v1/candidates/{t}/audit")));
        paths.push((Method::GET, format!("/api/v1/images/{t}/content")));
        paths.push((Method::POST, format!("/api/v1/images/{t}/lock")));
        paths.push((Method::POST, format!("/api/v1/candidates/{t}/decision")));
        paths.push((Method::POST, format!("/api/v1/audit/{t}/undo")));
    }
    for (m, p) in paths {
        let r = ts
            .req(m.clone(), &p, Some(&nj))
            .json(&json!({"level": "site", "decision": "pass"}))
            .send()
            .await
            .expect("send");
        let s = r.status().as_u16();
        assert!(matches!(s, 400 | 404 | 405), "{m} {p} → {s}");
        let ct = r.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .to_string();
        assert!(ct.starts_with("application/problem+json"), "{m} {p}: {ct}");
    }
    // Still alive, and nothing was decided.
    let v: Value = ts.get_json(&nj, "/api/v1/candidates").await;
    let before = v["counts"].clone();
    assert_eq!(
        ts.get_json::<Value>(&nj, "/api/v1/candidates").await["counts"],
        before
    );
    ts.shutdown().await;
}

#[tokio::test]
async fn sql_metacharacters_in_search_are_literal() {
    let ts = TestServer::start_demo(30).await;
    let nj = ts.login("nanjing").await;
    let all: Value = ts.get_json(&nj, "/api/v1/candidates?limit=500").await;
    let n = all["items"].as_array().expect("items").len();
    assert!(n > 0);
    for q in [
        "' OR 1=1 --",
        "\" OR \"\"=\"",
        "%",
        "_",
        "\\",
        "%%",
        "'; DROP TABLE candidates; --",
        "1' UNION SELECT id_number FROM candidates --",
    ] {
        let mut url = reqwest::Url::parse(&ts.url("/api/v1/candidates")).expect("url");
        url.query_pairs_mut()
            .append_pair("q", q)
            .append_pair("limit", "500");
        let r = ts
            .client
            .get(url)
            .bearer_auth(&nj)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::OK, "q={q}");
        let v: Value = r.json().await.expect("json");
        // No name, reg_no or ID number holds these characters: a wildcard
        // or an injected OR would match everyone.
        assert_eq!(v["items"].as_array().expect("items").len(), 0, "q={q}: {v}");
    }
    let after: Value = ts.get_json(&nj, "/api/v1/candidates?limit=500").await;
    assert_eq!(after["items"].as_array().expect("items").len(), n);
    assert_eq!(after["counts"], all["counts"]);
    ts.shutdown().await;
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let ts = TestServer::start_demo(3).await;
    let nj = ts.login("nanjing").await;
    let cid = ts.candidates(&nj, None).await[0]["id"]
        .as_i64()
        .expect("id");
    for (path, token) in [
        ("/api/v1/health".to_string(), None),
        (format!("/api/v1/candidates/{cid}"), Some(nj.as_str())),
        ("/api/v1/candidates/999999".to_string(), Some(nj.as_str())),
        ("/api/v1/me".to_string(), None),
        ("/nope".to_string(), None),
    ] {
        let r = ts
            .req(Method::GET, &path, token)
            .send()
            .await
            .expect("send");
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(
            h["content-security-policy"], "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
        // Plain http: no HSTS (tests/it/tls.rs checks it is there over https).
        assert!(!h.contains_key("strict-transport-security"), "{path}");
        if path.starts_with("/api/v1/candidates") {
            assert_eq!(h["cache-control"], "no-store", "{path}");
        }
    }
    ts.shutdown().await;
}
