//! Not part of the default run (`--ignored`; `bench/web_screenshots.sh`
//! runs them): screenshots of the candidates' page at a phone's and a
//! desktop's size into `docs/screenshots/`, and the in-browser compression
//! of the 4000×3000 phone photo measured in headless Chromium.

use crate::common;
use std::path::PathBuf;

use crate::support::web::{self, api, image_at};
use crate::support::webdriver::Browser;
use reqwest::Method;
use serde_json::json;

fn shots_dir() -> PathBuf {
    let d = std::env::var_os("SHENHE_SHOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots"));
    std::fs::create_dir_all(&d).expect("screenshot dir");
    d
}

/// A candidate with a dossier a reviewer has answered: two images locked,
/// one unlocked with a reason and a note, 审核待定.
async fn answered(ts: &common::TestServer) -> (String, String) {
    let base = &ts.base_url;
    let (cid, reg_no, token) = web::fresh_candidate(base).await;
    for (cat, slot, seed) in [("ID_PROOF", 0, 31), ("ID_PROOF", 1, 32), ("DIPLOMA", 0, 33)] {
        let page = web::document(900, 600, seed);
        let r = ts
            .upload(
                &token,
                cat,
                Some(slot),
                web::exif_jpeg(&page, 1, 80),
                "p.jpg",
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    let (s, _) = api(
        base,
        &token,
        Method::POST,
        "/api/v1/candidate/submit",
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 200);
    let site = ts.login("nanjing").await;
    let (_, me) = api(base, &token, Method::GET, "/api/v1/candidate/me", None).await;
    let id = |c: &str, s: u64| {
        image_at(&me, c, s).expect("image")["id"]
            .as_i64()
            .expect("id")
    };
    for i in [id("ID_PROOF", 0), id("DIPLOMA", 0)] {
        ts.post_json(&site, &format!("/api/v1/images/{i}/lock"), &json!({}))
            .await;
    }
    let back = id("ID_PROOF", 1);
    let r = ts
        .post_json(
            &site,
            &format!("/api/v1/images/{back}/unlock"),
            &json!({"reasons": ["BLURRY", "INCOMPLETE"], "note": "四角未拍全，请在光线充足处重拍"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = ts
        .post_json(
            &site,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "site", "decision": "pending", "reasons": ["MAT_NONCOMPLIANT"]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    (reg_no, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes docs/screenshots; run by bench/web_screenshots.sh"]
async fn screenshots_at_phone_and_desktop_sizes() {
    let ts = common::TestServer::start_demo(60).await;
    let base = ts.base_url.clone();
    let (reg_no, _) = answered(&ts).await;
    let dir = shots_dir();
    let tmp = tempfile::tempdir().expect("tmp");
    let (photo, _) = web::phone_photo();
    let photo_path = tmp.path().join("IMG_0001.jpg");
    std::fs::write(&photo_path, photo).expect("photo");

    for (w, h, tag) in [(390, 844, "phone"), (1280, 800, "desktop")] {
        let b = Browser::start(w, h).await;
        b.goto(&format!("{base}/")).await;
        b.wait_text("考生登录").await;
        std::fs::write(dir.join(format!("login-{tag}.png")), b.screenshot().await).expect("png");
        web::log_in(&b, &base, &reg_no).await;
        std::fs::write(
            dir.join(format!("materials-{tag}.png")),
            b.screenshot().await,
        )
        .expect("png");
        // The slot the reviewer asked to replace, with its reason.
        b.js(
            "document.getElementById('slot-ID_PROOF-1').scrollIntoView({block: 'center'});",
            vec![],
        )
        .await;
        std::fs::write(
            dir.join(format!("slot-reason-{tag}.png")),
            b.screenshot().await,
        )
        .expect("png");

        // The preparation dialog, then the upload in progress (throttled).
        let input = b.labelled("身份证明 反面").await.expect("input");
        b.choose_file(&input, &photo_path).await;
        b.wait(
            "the prepared photo",
            "const d = document.getElementById('prep'); return d.dataset.bytes && !d.querySelector('[data-act=upload]').disabled;",
        )
        .await;
        std::fs::write(dir.join(format!("prepare-{tag}.png")), b.screenshot().await).expect("png");
        b.throttle(20_000).await;
        let go = b.button("#prep", "上传").await.expect("上传");
        b.click(&go).await;
        b.wait(
            "progress",
            "const p = document.querySelector('#slot-ID_PROOF-1 progress'); return p && p.value > 15;",
        )
        .await;
        b.js(
            "document.getElementById('slot-ID_PROOF-1').scrollIntoView({block: 'center'});",
            vec![],
        )
        .await;
        std::fs::write(
            dir.join(format!("uploading-{tag}.png")),
            b.screenshot().await,
        )
        .expect("png");
        b.quit().await;
    }
    println!("screenshots in {}", dir.display());
    ts.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by bench/web_screenshots.sh"]
async fn compression_of_the_phone_photo_in_chromium() {
    let ts = common::TestServer::start_demo(60).await;
    let base = ts.base_url.clone();
    let (_, reg_no, token) = web::fresh_candidate(&base).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let (photo, upright) = web::phone_photo();
    let path = tmp.path().join("IMG_0001.jpg");
    std::fs::write(&path, &photo).expect("photo");
    let b = Browser::start(390, 844).await;
    web::log_in(&b, &base, &reg_no).await;
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let p = web::upload(&b, "身份证明 正面", &path, &[]).await;
        times.push(p.ms);
        last = Some(p);
    }
    times.sort_by(f64::total_cmp);
    let (_, me) = api(&base, &token, Method::GET, "/api/v1/candidate/me", None).await;
    let id = image_at(&me, "ID_PROOF", 0).expect("front")["id"]
        .as_i64()
        .expect("id");
    let bytes = reqwest::Client::new()
        .get(format!("{base}/api/v1/candidate/images/{id}/content"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("content")
        .bytes()
        .await
        .expect("bytes");
    let stored = image::load_from_memory(&bytes).expect("decode").to_rgb8();
    let (w, h) = stored.dimensions();
    let db = web::psnr(&stored, &web::scaled(&upright, w, h));
    println!(
        "| {} B, 4000×3000, EXIF 6 | {:.0} ms (runs {:?}) | {} B | {w}×{h} | {db:.2} dB |",
        photo.len(),
        times[2],
        times.iter().map(|t| t.round() as i64).collect::<Vec<_>>(),
        bytes.len()
    );
    assert_eq!(last.map(|p| p.bytes as usize), Some(bytes.len()));
    b.quit().await;
    ts.shutdown().await;
}
