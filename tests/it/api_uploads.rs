//! The candidate side's bad inputs: each gets a problem+json error and
//! changes nothing.

use crate::common;

use common::{TestServer, doc_jpeg, doc_png, problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shenhe::domain::rules::ReviewWindow;

async fn not_started(ts: &TestServer) -> (i64, String) {
    let t = ts.login("nanjing").await;
    let c = ts
        .candidates(&t, Some("not_started"))
        .await
        .into_iter()
        .next()
        .expect("not started");
    (
        c["id"].as_i64().expect("id"),
        c["reg_no"].as_str().expect("reg_no").to_string(),
    )
}

fn images(me: &Value) -> Vec<Value> {
    me["materials"]
        .as_array()
        .expect("materials")
        .iter()
        .flat_map(|m| m["images"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// A PNG header declaring 30000×30000 pixels with a few bytes of data.
fn png_bomb() -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = 30_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&30_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

#[tokio::test]
async fn bad_uploads_are_refused_and_change_nothing() {
    let ts = TestServer::start_demo(60).await;
    let (_, reg_no) = not_started(&ts).await;
    let t = ts.login_candidate(&reg_no).await;
    let before: Value = ts.get_json(&t, "/api/v1/candidate/me").await;

    // A PDF named .jpg; a GIF; an empty file.
    let r = ts
        .upload(&t, "DIPLOMA", None, b"%PDF-1.7\n...".to_vec(), "scan.jpg")
        .await;
    problem(r, 422, "unsupported_format").await;
    let r = ts
        .upload(
            &t,
            "DIPLOMA",
            None,
            b"GIF89a\x01\x00\x01\x00".to_vec(),
            "a.png",
        )
        .await;
    problem(r, 422, "unsupported_format").await;
    let r = ts
        .upload(&t, "DIPLOMA", None, Vec::new(), "empty.jpg")
        .await;
    problem(r, 422, "invalid_image").await;
    // Over 204,800 bytes (but within the request limit).
    let mut big = vec![0xFF, 0xD8, 0xFF, 0xE0];
    big.resize(204_801, 0);
    let r = ts.upload(&t, "DIPLOMA", None, big, "big.jpg").await;
    problem(r, 413, "file_too_large").await;
    // Over the request limit altogether.
    let mut huge = vec![0xFF, 0xD8, 0xFF, 0xE0];
    huge.resize(400_000, 0);
    let r = ts.upload(&t, "DIPLOMA", None, huge, "huge.jpg").await;
    problem(r, 413, "payload_too_large").await;
    // A decompression bomb; a truncated JPEG.
    let r = ts.upload(&t, "DIPLOMA", None, png_bomb(), "bomb.png").await;
    problem(r, 422, "invalid_image").await;
    let full = doc_jpeg(3, 900, 600);
    let r = ts
        .upload(
            &t,
            "DIPLOMA",
            None,
            full[..full.len() / 2].to_vec(),
            "cut.jpg",
        )
        .await;
    problem(r, 422, "invalid_image").await;
    // Not multipart; no file field; unknown category; bad slot.
    let r = ts
        .req(
            Method::POST,
            "/api/v1/candidate/materials/DIPLOMA/images",
            Some(&t),
        )
        .json(&json!({"file": "x"}))
        .send()
        .await
        .expect("send");
    problem(r, 415, "unsupported_media_type").await;
    let r = ts
        .req(
            Method::POST,
            "/api/v1/candidate/materials/DIPLOMA/images",
            Some(&t),
        )
        .multipart(reqwest::multipart::Form::new().text("slot", "1"))
        .send()
        .await
        .expect("send");
    problem(r, 400, "invalid_multipart").await;
    let r = ts
        .upload(&t, "NOT_A_CATEGORY", None, doc_png(1, 800, 600), "a.png")
        .await;
    problem(r, 404, "not_found").await;
    let r = ts
        .upload(&t, "ID_PROOF", Some(2), doc_png(1, 800, 600), "a.png")
        .await;
    problem(r, 409, "bad_slot").await;

    let after: Value = ts.get_json(&t, "/api/v1/candidate/me").await;
    assert_eq!(images(&before), images(&after));

    // A third image into the two-slot ID category.
    for slot in [0u8, 1] {
        let r = ts
            .upload(
                &t,
                "ID_PROOF",
                Some(slot),
                doc_png(u32::from(slot) + 40, 800, 520),
                "id.png",
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = ts
        .upload(&t, "ID_PROOF", None, doc_png(50, 800, 520), "third.png")
        .await;
    problem(r, 409, "slot_full").await;
    let me: Value = ts.get_json(&t, "/api/v1/candidate/me").await;
    assert_eq!(
        me["materials"][0]["images"].as_array().expect("imgs").len(),
        2
    );

    // Own image content, and nobody else's.
    let own = images(&me)[0]["id"].as_i64().expect("id");
    let r = ts
        .get(&t, &format!("/api/v1/candidate/images/{own}/content"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("etag"));
    let other = ts.login("nanjing").await;
    let any: Value = ts
        .get_json(&other, "/api/v1/candidates?state=awaiting_review&limit=1")
        .await;
    let d: Value = ts
        .get_json(
            &other,
            &format!("/api/v1/candidates/{}", any["items"][0]["id"]),
        )
        .await;
    let foreign = d["materials"][0]["images"][0]["id"].as_i64().expect("id");
    problem(
        ts.get(&t, &format!("/api/v1/candidate/images/{foreign}/content"))
            .await,
        404,
        "not_found",
    )
    .await;
    problem(
        ts.delete(&t, &format!("/api/v1/candidate/images/{foreign}"))
            .await,
        404,
        "not_found",
    )
    .await;
    ts.shutdown().await;
}

#[tokio::test]
async fn locked_images_and_submitted_dossiers_cannot_change() {
    let ts = TestServer::start_demo(60).await;
    let nj = ts.login("nanjing").await;
    // A pending candidate: one image unlocked, the others locked.
    let c = ts
        .candidates(&nj, Some("pending"))
        .await
        .into_iter()
        .next()
        .expect("pending");
    let t = ts
        .login_candidate(c["reg_no"].as_str().expect("reg_no"))
        .await;
    let me: Value = ts.get_json(&t, "/api/v1/candidate/me").await;
    assert_eq!(me["status_zh"], "审核待定");
    let imgs = images(&me);
    let locked = imgs
        .iter()
        .find(|i| i["lock"] == "locked")
        .expect("a locked image");
    let unlocked = imgs
        .iter()
        .find(|i| i["lock"] == "unlocked")
        .expect("an unlocked image");
    let r = ts
        .upload(
            &t,
            locked["category"].as_str().expect("cat"),
            Some(locked["slot"].as_u64().expect("slot") as u8),
            doc_png(7, 800, 520),
            "x.png",
        )
        .await;
    problem(r, 409, "image_locked").await;
    problem(
        ts.delete(&t, &format!("/api/v1/candidate/images/{}", locked["id"]))
            .await,
        409,
        "image_locked",
    )
    .await;
    // Resubmitting before replacing the unlocked image is refused.
    let r = ts
        .post_json(&t, "/api/v1/candidate/submit", &json!({}))
        .await;
    problem(r, 409, "invalid_transition").await;
    // Replacing it works and keeps the slot.
    let r = ts
        .upload(
            &t,
            unlocked["category"].as_str().expect("cat"),
            Some(unlocked["slot"].as_u64().expect("slot") as u8),
            doc_png(8, 800, 520),
            "y.png",
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["image"]["id"], unlocked["id"]);
    let r = ts
        .post_json(&t, "/api/v1/candidate/submit", &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Now under review: no changes at all.
    let r = ts
        .upload(&t, "OTHER", None, doc_png(9, 800, 520), "z.png")
        .await;
    problem(r, 409, "not_editable").await;
    let r = ts
        .post_json(&t, "/api/v1/candidate/submit", &json!({}))
        .await;
    problem(r, 409, "invalid_transition").await;
    ts.shutdown().await;
}

#[tokio::test]
async fn uploads_outside_the_window_are_refused() {
    let past = ReviewWindow::parse("2020-02-14..2020-03-20", 2020).expect("window");
    let ts = TestServer::start_with(Some(40), past).await;
    let (_, reg_no) = not_started(&ts).await;
    let t = ts.login_candidate(&reg_no).await;
    let me: Value = ts.get_json(&t, "/api/v1/candidate/me").await;
    assert_eq!(me["window"]["open"], false);
    assert_eq!(me["editable"], false);
    let r = ts
        .upload(&t, "DIPLOMA", None, doc_png(1, 800, 600), "a.png")
        .await;
    problem(r, 409, "window_closed").await;
    let r = ts
        .post_json(&t, "/api/v1/candidate/submit", &json!({}))
        .await;
    problem(r, 409, "window_closed").await;
    ts.shutdown().await;
}

#[tokio::test]
async fn candidate_login_and_logout() {
    let ts = TestServer::start_demo(40).await;
    let (_, reg_no) = not_started(&ts).await;
    let r = ts
        .client
        .post(ts.url("/api/v1/candidate/session"))
        .json(&json!({"reg_no": reg_no, "password": "wrong"}))
        .send()
        .await
        .expect("send");
    problem(r, 401, "invalid_credentials").await;
    let r = ts
        .client
        .post(ts.url("/api/v1/candidate/session"))
        .json(&json!({"reg_no": reg_no, "password": "demo"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["candidate"]["reg_no"], reg_no.as_str());
    let t = v["token"].as_str().expect("token").to_string();
    assert_eq!(
        ts.delete(&t, "/api/v1/candidate/session").await.status(),
        StatusCode::NO_CONTENT
    );
    problem(
        ts.get(&t, "/api/v1/candidate/me").await,
        401,
        "unauthorized",
    )
    .await;
    ts.shutdown().await;
}
