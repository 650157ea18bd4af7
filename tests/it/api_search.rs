//! The queue's search (issue 12): any part of the reg_no, the last digits
//! of the ID number, any part of the name, the name's pinyin initials; and
//! nothing outside the caller's scope.

use crate::common;

use common::TestServer;
use serde_json::Value;

async fn found(ts: &TestServer, token: &str, q: &str) -> Vec<Value> {
    let v: Value = ts
        .get_json(
            token,
            &format!("/api/v1/candidates?limit=500&q={}", urlencode(q)),
        )
        .await;
    v["items"].as_array().cloned().unwrap_or_default()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn any_part_of_the_reg_no_the_id_tail_the_name_and_its_initials() {
    let ts = TestServer::start_demo(40).await;
    let site = ts.login("nanjing").await;
    let all = ts.candidates(&site, None).await;
    let c = &all[all.len() / 2];
    let (id, reg, name) = (
        c["id"].as_i64().expect("id"),
        c["reg_no"].as_str().expect("reg").to_string(),
        c["name"].as_str().expect("name").to_string(),
    );
    let has = |items: &[Value]| items.iter().any(|x| x["id"] == id);

    // The middle of the reg_no (the issue's `/0000061`: not a prefix).
    let mid: String = reg.chars().skip(4).take(reg.chars().count() - 5).collect();
    assert!(has(&found(&ts, &site, &mid).await), "{mid} in {reg}");
    // Any part of the name.
    let part: String = name.chars().skip(1).collect();
    assert!(has(&found(&ts, &site, &part).await), "{part} of {name}");
    // The pinyin initials, either case.
    let ini = shenhe::domain::name_key::initials(&name);
    assert!(has(&found(&ts, &site, &ini).await), "{ini} for {name}");
    assert!(has(&found(&ts, &site, &ini.to_uppercase()).await));
    // The ID number's last digits (the reviewer sees them in the mask).
    let d: Value = ts
        .get_json(&site, &format!("/api/v1/candidates/{id}"))
        .await;
    let masked = d["id_number"].as_str().expect("id");
    let tail: String = masked
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let hits = found(&ts, &site, &tail).await;
    assert!(has(&hits), "{tail}");
    // ...but the hidden middle of the ID number is not searchable.
    assert!(found(&ts, &site, "zzzz").await.is_empty());

    // Scope: suzhou never finds nanjing's candidate, however it asks.
    let suzhou = ts.login("suzhou").await;
    for q in [reg.as_str(), name.as_str(), ini.as_str()] {
        assert!(!has(&found(&ts, &suzhou, q).await), "suzhou found {q}");
    }
    ts.shutdown().await;
}

/// `order=desc` is the queue from its end (what `G` shows first), and its
/// cursor goes on backwards.
#[tokio::test]
async fn the_queue_from_its_end() {
    let ts = TestServer::start_demo(40).await;
    let site = ts.login("nanjing").await;
    let all = ts.candidates(&site, Some("awaiting_review")).await;
    let ids: Vec<i64> = all.iter().map(|c| c["id"].as_i64().expect("id")).collect();
    let v: Value = ts
        .get_json(
            &site,
            "/api/v1/candidates?state=awaiting_review&order=desc&limit=3",
        )
        .await;
    let page: Vec<i64> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect();
    let want: Vec<i64> = ids.iter().rev().take(3).copied().collect();
    assert_eq!(page, want);
    let cursor = v["next_cursor"].as_str().expect("more");
    let v: Value = ts
        .get_json(
            &site,
            &format!("/api/v1/candidates?state=awaiting_review&order=desc&limit=3&cursor={cursor}"),
        )
        .await;
    let next: Vec<i64> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect();
    let want: Vec<i64> = ids.iter().rev().skip(3).take(3).copied().collect();
    assert_eq!(next, want);
    let r = ts.get(&site, "/api/v1/candidates?order=sideways").await;
    common::problem(r, 400, "invalid_query").await;
    ts.shutdown().await;
}
