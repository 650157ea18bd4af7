//! The demo seed: every review state, consistent images, flawed assets
//! flagged by their real analysis, feedback history, valid ID numbers.

use crate::common;

use std::collections::HashMap;

use common::TestServer;
use serde_json::Value;
use shenhe::domain::identity::validate_id_number;

fn images(d: &Value) -> Vec<Value> {
    d["materials"]
        .as_array()
        .expect("materials")
        .iter()
        .flat_map(|m| m["images"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn demo_data_is_spread_and_consistent() {
    let ts = TestServer::start_demo(300).await;
    let dist = ts.login("jiangsu").await;
    let nj = ts.login("nanjing").await;
    let sz = ts.login("suzhou").await;

    let mut site_states: HashMap<String, usize> = HashMap::new();
    let mut all = Vec::new();
    for t in [&nj, &sz] {
        for c in ts.candidates(t, None).await {
            *site_states
                .entry(c["site_review"].as_str().expect("s").to_string())
                .or_default() += 1;
            all.push((t.clone(), c));
        }
    }
    assert_eq!(all.len(), 300);
    for s in [
        "not_started",
        "awaiting_review",
        "pending",
        "passed",
        "rejected",
    ] {
        assert!(
            site_states.get(s).copied().unwrap_or(0) > 0,
            "no {s}: {site_states:?}"
        );
    }
    let district = ts.candidates(&dist, None).await;
    for s in [
        "awaiting_review",
        "pending",
        "passed",
        "rejected",
        "returned",
    ] {
        assert!(
            district.iter().any(|c| c["district_review"] == s),
            "no district {s}"
        );
    }
    assert!(all.iter().any(|(_, c)| c["name"] == "欧阳娜娜"));

    let (mut flagged, mut blurry, mut near, mut phone_or_sms) = (0, 0, 0, 0);
    for (t, c) in all.iter().take(120) {
        let d: Value = ts
            .get_json(t, &format!("/api/v1/candidates/{}", c["id"]))
            .await;
        let full: Value = ts
            .post_json(
                t,
                &format!("/api/v1/candidates/{}/reveal", c["id"]),
                &serde_json::json!({}),
            )
            .await
            .json()
            .await
            .expect("json");
        let id = full["id_number"].as_str().expect("id");
        assert!(validate_id_number(id).is_ok(), "{id}");
        let region = if c["site"] == "南京考点" {
            "3201"
        } else {
            "3205"
        };
        assert!(id.starts_with(region), "{id}");
        let imgs = images(&d);
        let state = d["site_review"]["state"].as_str().expect("state");
        for i in &imgs {
            let h = &i["hints"];
            if h["blurry"] == true || h["too_small"] == true || h["not_upright"] == true {
                flagged += 1;
            }
            if h["blurry"] == true {
                blurry += 1;
            }
            if !h["near_duplicate_of"].as_array().expect("a").is_empty() {
                near += 1;
            }
            assert!(i["bytes"].as_i64().expect("n") <= 204_800);
            match state {
                "not_started" => assert_eq!(i["lock"], "unlocked"),
                "awaiting_review" if d["district_review"]["state"] != "returned" => {
                    assert_eq!(i["lock"], "locked")
                }
                _ => {}
            }
        }
        if state == "pending" {
            assert!(
                imgs.iter().any(|i| i["lock"] == "unlocked"),
                "pending without an unlocked image"
            );
            let fb = d["feedback"].as_array().expect("fb");
            assert!(
                fb.iter()
                    .any(|f| f["body"].as_str().expect("b").contains("审核待定"))
            );
            assert!(
                fb.iter()
                    .any(|f| f["body"].as_str().expect("b").contains("未锁定"))
            );
        }
        if d["feedback"]
            .as_array()
            .expect("fb")
            .iter()
            .any(|f| f["channel"] != "system")
        {
            phone_or_sms += 1;
        }
    }
    assert!(
        flagged > 0 && blurry > 0,
        "flagged {flagged}, blurry {blurry}"
    );
    assert!(phone_or_sms > 0, "no feedback history");
    let _ = near;
    ts.shutdown().await;
}
