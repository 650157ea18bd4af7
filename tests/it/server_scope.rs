//! Scope: a site reviewer sees and acts on their own site only (404
//! elsewhere, never 403); a reviewer cannot decide at another level.

use crate::common;

use common::{TestServer, problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn nanjing_cannot_see_or_act_on_suzhou() {
    let ts = TestServer::start_demo(60).await;
    let nj = ts.login("nanjing").await;
    let sz = ts.login("suzhou").await;

    let mine = ts.candidates(&nj, None).await;
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|c| c["site"] == "南京考点"));
    let theirs = ts.candidates(&sz, Some("awaiting_review")).await;
    let c = &theirs[0];
    let cid = c["id"].as_i64().expect("id");
    assert!(mine.iter().all(|m| m["id"] != c["id"]));

    // Search does not leak either.
    let v: Value = ts
        .get_json(
            &nj,
            &format!("/api/v1/candidates?q={}", c["reg_no"].as_str().expect("r")),
        )
        .await;
    assert!(v["items"].as_array().expect("items").is_empty());

    let d: Value = ts.get_json(&sz, &format!("/api/v1/candidates/{cid}")).await;
    let img = d["materials"]
        .as_array()
        .expect("m")
        .iter()
        .flat_map(|m| m["images"].as_array().cloned().unwrap_or_default())
        .next()
        .expect("an image");
    let iid = img["id"].as_i64().expect("id");
    let audit: Value = ts
        .get_json(&sz, &format!("/api/v1/candidates/{cid}/audit"))
        .await;
    let event = audit["items"][0]["id"].as_i64().expect("event");

    // Reads.
    for path in [
        format!("/api/v1/candidates/{cid}"),
        format!("/api/v1/candidates/{cid}/audit"),
        format!("/api/v1/images/{iid}/content"),
    ] {
        problem(ts.get(&nj, &path).await, 404, "not_found").await;
    }
    // Writes.
    for (path, body) in [
        (format!("/api/v1/images/{iid}/lock"), json!({})),
        (
            format!("/api/v1/images/{iid}/unlock"),
            json!({"reasons": ["BLURRY"]}),
        ),
        (
            format!("/api/v1/candidates/{cid}/decision"),
            json!({"level": "site", "decision": "pass"}),
        ),
        (format!("/api/v1/candidates/{cid}/claim"), json!({})),
        (
            format!("/api/v1/candidates/{cid}/feedback"),
            json!({"channel": "sms", "body": "x"}),
        ),
        (format!("/api/v1/candidates/{cid}/reveal"), json!({})),
        (format!("/api/v1/audit/{event}/undo"), json!({})),
    ] {
        problem(ts.post_json(&nj, &path, &body).await, 404, "not_found").await;
    }
    problem(
        ts.delete(&nj, &format!("/api/v1/candidates/{cid}/claim"))
            .await,
        404,
        "not_found",
    )
    .await;
    // Nothing changed for Suzhou.
    let after: Value = ts.get_json(&sz, &format!("/api/v1/candidates/{cid}")).await;
    assert_eq!(after["version"], d["version"]);
    assert!(after["claim"].is_null());
    let audit2: Value = ts
        .get_json(&sz, &format!("/api/v1/candidates/{cid}/audit"))
        .await;
    assert_eq!(audit2["items"], audit["items"]);
    ts.shutdown().await;
}

#[tokio::test]
async fn levels_are_enforced() {
    let ts = TestServer::start_demo(60).await;
    let jiangsu = ts.login("jiangsu").await;
    let nj = ts.login("nanjing").await;

    // The district sees both sites.
    let all = ts.candidates(&jiangsu, None).await;
    assert!(all.iter().any(|c| c["site"] == "南京考点"));
    assert!(all.iter().any(|c| c["site"] == "苏州考点"));

    // A candidate awaiting the district: the site cannot decide at the
    // district level, nor at its own (it has passed already), nor judge images.
    let c = all
        .iter()
        .find(|c| c["district_review"] == "awaiting_review" && c["site"] == "南京考点")
        .expect("one at the district");
    let cid = c["id"].as_i64().expect("id");
    let r = ts
        .post_json(
            &nj,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "district", "decision": "pass"}),
        )
        .await;
    problem(r, 403, "wrong_level").await;
    let r = ts
        .post_json(
            &nj,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "site", "decision": "reject", "reasons": ["INELIGIBLE"]}),
        )
        .await;
    problem(r, 409, "invalid_transition").await;
    let d: Value = ts.get_json(&nj, &format!("/api/v1/candidates/{cid}")).await;
    let iid = d["materials"][0]["images"][0]["id"]
        .as_i64()
        .expect("image");
    let r = ts
        .post_json(
            &nj,
            &format!("/api/v1/images/{iid}/unlock"),
            &json!({"reasons": ["BLURRY"]}),
        )
        .await;
    problem(r, 409, "invalid_transition").await;

    // The district decides at its level only; it can return to the site.
    let r = ts
        .post_json(
            &jiangsu,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "site", "decision": "pass"}),
        )
        .await;
    problem(r, 403, "wrong_level").await;
    let r = ts
        .post_json(
            &jiangsu,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "district", "decision": "return", "reasons": ["ONSITE"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["site_review"]["state"], "awaiting_review");
    assert_eq!(v["district_review"]["state"], "returned");
    // The site has it back, counted as returned.
    let q: Value = ts.get_json(&nj, "/api/v1/candidates?state=returned").await;
    assert!(
        q["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|x| x["id"] == cid)
    );

    // A candidate token is not a reviewer token and vice versa.
    let reg_no = c["reg_no"].as_str().expect("reg_no");
    let ct = ts.login_candidate(reg_no).await;
    problem(ts.get(&ct, "/api/v1/candidates").await, 401, "unauthorized").await;
    let r = ts
        .req(Method::GET, "/api/v1/candidate/me", Some(&nj))
        .send()
        .await
        .expect("send");
    problem(r, 401, "unauthorized").await;
    ts.shutdown().await;
}
