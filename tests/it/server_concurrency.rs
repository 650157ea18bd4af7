//! Twenty reviewers' requests racing on one image with the same expected
//! version: exactly one wins, and the audit log agrees.

use crate::common;

use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_racing_judgements_one_winner() {
    let ts = std::sync::Arc::new(TestServer::start_demo(40).await);
    let t = ts.login("nanjing").await;
    let c = ts
        .candidates(&t, Some("awaiting_review"))
        .await
        .into_iter()
        .next()
        .expect("candidate");
    let cid = c["id"].as_i64().expect("id");
    let d: Value = ts.get_json(&t, &format!("/api/v1/candidates/{cid}")).await;
    let img = d["materials"]
        .as_array()
        .expect("m")
        .iter()
        .flat_map(|m| m["images"].as_array().cloned().unwrap_or_default())
        .find(|i| i["verdict"] == "unreviewed")
        .expect("unreviewed image");
    let iid = img["id"].as_i64().expect("id");
    let v0 = img["version"].as_i64().expect("version");
    let before: Value = ts
        .get_json(&t, &format!("/api/v1/candidates/{cid}/audit"))
        .await;
    let before = before["items"].as_array().expect("items").len();

    let mut tasks = Vec::new();
    for i in 0..20 {
        let ts = ts.clone();
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let (path, body) = if i % 2 == 0 {
                (format!("/api/v1/images/{iid}/lock"), json!({}))
            } else {
                (
                    format!("/api/v1/images/{iid}/unlock"),
                    json!({"reasons": ["BLURRY"]}),
                )
            };
            let r = ts
                .req(Method::POST, &path, Some(&t))
                .header("if-match", format!("\"{v0}\""))
                .json(&body)
                .send()
                .await
                .expect("send");
            let status = r.status();
            let body: Value = r.json().await.expect("json");
            (status, body)
        }));
    }
    let mut wins = Vec::new();
    for task in tasks {
        let (status, body) = task.await.expect("task");
        match status {
            StatusCode::OK => wins.push(body),
            StatusCode::CONFLICT => assert_eq!(body["code"], "stale_version", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(wins.len(), 1, "exactly one winner");
    let won = &wins[0];
    assert_eq!(won["image"]["version"], v0 + 1);

    let after: Value = ts
        .get_json(&t, &format!("/api/v1/candidates/{cid}/audit"))
        .await;
    let items = after["items"].as_array().expect("items");
    let new: Vec<&Value> = items[before..]
        .iter()
        .filter(|e| e["target"] == format!("image:{iid}"))
        .collect();
    assert_eq!(new.len(), 1, "one audit event");
    assert_eq!(new[0]["id"], won["audit_id"]);
    let expect = if won["image"]["lock"] == "locked" {
        "image.lock"
    } else {
        "image.unlock"
    };
    assert_eq!(new[0]["action"], expect);
    let d: Value = ts.get_json(&t, &format!("/api/v1/candidates/{cid}")).await;
    assert_eq!(d["version"], won["candidate_version"]);
}
