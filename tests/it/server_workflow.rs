//! The full workflow of the seed data, end to end over HTTP: a candidate
//! uploads and submits; the site locks two images, unlocks one as BLURRY
//! and sets 审核待定 (MAT_NONCOMPLIANT); the candidate sees the feedback,
//! replaces the image and resubmits; the site passes; the district passes;
//! the candidate sees 审核通过.

use crate::common;

use common::{TestServer, blurry_jpeg, doc_jpeg};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn all_images(v: &Value) -> Vec<Value> {
    v["materials"]
        .as_array()
        .expect("materials")
        .iter()
        .flat_map(|m| m["images"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn seed_workflow_end_to_end() {
    let ts = TestServer::start_demo(60).await;
    let site = ts.login("nanjing").await;
    let district = ts.login("jiangsu").await;

    // A Nanjing candidate who has not submitted yet.
    let c = ts
        .candidates(&site, Some("not_started"))
        .await
        .into_iter()
        .next()
        .expect("a candidate who has not submitted");
    let cid = c["id"].as_i64().expect("id");
    let reg_no = c["reg_no"].as_str().expect("reg_no").to_string();
    let me_token = ts.login_candidate(&reg_no).await;

    // Start from an empty dossier: remove the draft images.
    let me: Value = ts.get_json(&me_token, "/api/v1/candidate/me").await;
    assert_eq!(me["status"], "not_started");
    assert_eq!(me["editable"], true);
    for img in all_images(&me) {
        let r = ts
            .delete(
                &me_token,
                &format!("/api/v1/candidate/images/{}", img["id"]),
            )
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }

    // Upload: ID front and back, and a blurry diploma.
    let mut ids = Vec::new();
    for (cat, slot, bytes) in [
        ("ID_PROOF", Some(0), doc_jpeg(11, 1000, 640)),
        ("ID_PROOF", Some(1), doc_jpeg(12, 1000, 640)),
        ("DIPLOMA", None, blurry_jpeg(13, 1200, 850)),
    ] {
        let r = ts.upload(&me_token, cat, slot, bytes, "photo.jpg").await;
        assert_eq!(r.status(), StatusCode::CREATED, "{cat}");
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["image"]["lock"], "unlocked");
        ids.push(v["image"]["id"].as_i64().expect("id"));
    }
    let (front, back, diploma) = (ids[0], ids[1], ids[2]);

    let r = ts
        .post_json(&me_token, "/api/v1/candidate/submit", &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = r.json().await.expect("json");
    assert_eq!(me["status"], "awaiting_review");
    assert_eq!(me["status_zh"], "待审核");
    assert!(
        all_images(&me)
            .iter()
            .all(|i| i["lock"] == "locked" && i["lock_zh"] == "已锁定")
    );

    // The site reviewer: the blurry diploma scores below the sharp ID card.
    let d: Value = ts
        .get_json(&site, &format!("/api/v1/candidates/{cid}"))
        .await;
    assert_eq!(d["site_review"]["state"], "awaiting_review");
    let imgs = all_images(&d);
    assert_eq!(imgs.len(), 3);
    let score = |id: i64| {
        imgs.iter().find(|i| i["id"] == id).expect("image")["hints"]["blur_score"]
            .as_f64()
            .expect("score")
    };
    assert!(score(diploma) < score(front), "blur scores");

    for id in [front, back] {
        let r = ts
            .post_json(&site, &format!("/api/v1/images/{id}/lock"), &json!({}))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = ts
        .post_json(
            &site,
            &format!("/api/v1/images/{diploma}/unlock"),
            &json!({"reasons": ["BLURRY"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = ts
        .post_json(
            &site,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "site", "decision": "pending", "reasons": ["MAT_NONCOMPLIANT"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // The candidate sees 审核待定, the feedback, and which image to replace.
    let me: Value = ts.get_json(&me_token, "/api/v1/candidate/me").await;
    assert_eq!(me["status"], "pending");
    assert_eq!(me["status_zh"], "审核待定");
    assert_eq!(me["reasons"], json!(["MAT_NONCOMPLIANT"]));
    assert_eq!(me["editable"], true);
    let bodies: Vec<&str> = me["feedback"]
        .as_array()
        .expect("feedback")
        .iter()
        .map(|f| f["body"].as_str().expect("body"))
        .collect();
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("【毕业证书·第1张】未锁定") && b.contains("图片模糊不清")),
        "{bodies:?}"
    );
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("审核待定") && b.contains("上传材料不符合要求或模糊不清")),
        "{bodies:?}"
    );
    for img in all_images(&me) {
        let id = img["id"].as_i64().expect("id");
        let expect = if id == diploma {
            "未锁定"
        } else {
            "已锁定"
        };
        assert_eq!(img["lock_zh"], expect, "{img}");
    }

    // A locked image cannot be replaced; the unlocked one can, keeping its slot.
    let r = ts
        .upload(
            &me_token,
            "ID_PROOF",
            Some(0),
            doc_jpeg(14, 1000, 640),
            "again.jpg",
        )
        .await;
    common::problem(r, 409, "image_locked").await;
    // (The upload page's replace button names the slot.)
    let r = ts
        .upload(
            &me_token,
            "DIPLOMA",
            Some(0),
            doc_jpeg(15, 1200, 850),
            "sharp.jpg",
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["image"]["id"], diploma);
    assert_eq!(v["image"]["generation"], 2);
    assert_eq!(v["image"]["slot"], 0);

    let r = ts
        .post_json(&me_token, "/api/v1/candidate/submit", &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = r.json().await.expect("json");
    assert_eq!(me["status"], "awaiting_review");

    // The replacement is locked again and unreviewed; the site passes.
    let d: Value = ts
        .get_json(&site, &format!("/api/v1/candidates/{cid}"))
        .await;
    let dip = all_images(&d)
        .into_iter()
        .find(|i| i["id"] == diploma)
        .expect("diploma");
    assert_eq!(dip["lock"], "locked");
    assert_eq!(dip["verdict"], "unreviewed");
    let r = ts
        .post_json(&site, &format!("/api/v1/images/{diploma}/lock"), &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = ts
        .req(
            reqwest::Method::POST,
            &format!("/api/v1/candidates/{cid}/decision"),
            Some(&site),
        )
        .header(
            "if-match",
            format!("\"{}\"", d["version"].as_i64().expect("v") + 1),
        )
        .json(&json!({"level": "site", "decision": "pass"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["site_review"]["state"], "passed");
    assert_eq!(v["district_review"]["state"], "awaiting_review");

    let me: Value = ts.get_json(&me_token, "/api/v1/candidate/me").await;
    assert_eq!(me["status"], "awaiting_review");

    // The district sees it now, and passes it.
    let queue = ts.candidates(&district, Some("awaiting_review")).await;
    assert!(queue.iter().any(|c| c["id"] == cid));
    let r = ts
        .post_json(
            &district,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "district", "decision": "pass"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    let me: Value = ts.get_json(&me_token, "/api/v1/candidate/me").await;
    assert_eq!(me["status"], "passed");
    assert_eq!(me["status_zh"], "审核通过");
    assert_eq!(me["editable"], false);

    // The audit log tells the story in order.
    let a: Value = ts
        .get_json(&site, &format!("/api/v1/candidates/{cid}/audit"))
        .await;
    let actions: Vec<&str> = a["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    let tail: Vec<&str> = actions
        .iter()
        .copied()
        .skip_while(|a| *a != "candidate.submit")
        .collect();
    assert_eq!(
        tail,
        [
            "candidate.submit",
            "image.lock",
            "image.lock",
            "image.unlock",
            "candidate.decision",
            "image.upload",
            "candidate.submit",
            "image.lock",
            "candidate.decision",
            "candidate.decision",
        ]
    );
    ts.shutdown().await;
}
