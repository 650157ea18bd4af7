//! The candidates' page in a real browser (Debian's headless Chromium via
//! chromedriver) against the real server: a 4 MB phone photo turned by
//! EXIF is prepared in the browser and arrives ≤ 200 KB, upright and
//! EXIF-free; the fixed slots take exactly two; delete and re-upload;
//! submit locks; a reviewer's unlock shows at the top and on the image;
//! the replacement goes in; the final result appears only at the end.

use crate::common;
use crate::support::web::{self, api, image_at};
use crate::support::webdriver::Browser;
use reqwest::Method;
use serde_json::{Value, json};

async fn me(base: &str, token: &str) -> Value {
    api(base, token, Method::GET, "/api/v1/candidate/me", None)
        .await
        .1
}

async fn content(base: &str, token: &str, id: i64) -> Vec<u8> {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/candidate/images/{id}/content"))
        .bearer_auth(token)
        .send()
        .await
        .expect("content")
        .bytes()
        .await
        .expect("bytes")
        .to_vec()
}

/// Count of elements matching `css` in the page.
async fn count(b: &Browser, css: &str) -> usize {
    b.all(css).await.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_uploads_replaces_and_submits_in_a_real_browser() {
    let ts = common::TestServer::start_demo(60).await;
    let base = ts.base_url.clone();
    let (cid, reg_no, token) = web::fresh_candidate(&base).await;
    let dir = tempfile::tempdir().expect("dir");

    let (photo, upright) = web::phone_photo();
    assert!(
        (3_000_000..6_500_000).contains(&photo.len()),
        "a phone-sized photo: {} bytes",
        photo.len()
    );
    let photo_path = dir.path().join("IMG_20260214_093000.jpg");
    std::fs::write(&photo_path, &photo).expect("write photo");
    let back_path = dir.path().join("back.jpg");
    std::fs::write(
        &back_path,
        web::exif_jpeg(&web::document(1600, 1000, 3), 1, 80),
    )
    .expect("write back");
    let diploma_path = dir.path().join("diploma.jpg");
    std::fs::write(
        &diploma_path,
        web::exif_jpeg(&web::document(1800, 2400, 5), 1, 88),
    )
    .expect("write diploma");

    let b = Browser::start(390, 844).await;
    web::log_in(&b, &base, &reg_no).await;

    // The phone photo: ≤ 200 KB, upright (portrait), no EXIF.
    let prepared = web::upload(&b, "身份证明 正面", &photo_path, &[]).await;
    let m = me(&base, &token).await;
    let front = image_at(&m, "ID_PROOF", 0).expect("front stored");
    let bytes = content(&base, &token, front["id"].as_i64().expect("id")).await;
    assert!(bytes.len() <= 204_800, "stored {} bytes", bytes.len());
    assert_eq!(
        prepared.bytes as usize,
        bytes.len(),
        "what the dialog showed"
    );
    assert!(!web::has_exif(&bytes), "EXIF stripped");
    let stored = image::load_from_memory(&bytes).expect("decode").to_rgb8();
    let (w, h) = stored.dimensions();
    assert!(h > w, "upright (portrait) {w}x{h}");
    let db = web::psnr(&stored, &web::scaled(&upright, w, h));
    let turned = image::imageops::rotate180(&web::scaled(&upright, w, h));
    println!(
        "phone photo {} bytes -> {} bytes {w}x{h} in {:.0} ms, PSNR {db:.2} dB",
        photo.len(),
        bytes.len(),
        prepared.ms
    );
    // Noisy text at ~0.6 quality and a browser's own resampling filter:
    // well above what a turned or mis-scaled image scores (~10 dB).
    assert!(db > 25.0, "PSNR against the upright original: {db:.2} dB");
    assert!(
        db > web::psnr(&stored, &turned) + 6.0,
        "upright, not turned"
    );

    // Both fixed slots filled: no third 身份证明 input anywhere.
    web::upload(&b, "身份证明 反面", &back_path, &[]).await;
    let id_labels: Vec<String> = b
        .labels()
        .await
        .into_iter()
        .filter(|l| l.starts_with("身份证明"))
        .collect();
    assert_eq!(id_labels, ["身份证明 正面", "身份证明 反面"]);
    let r = ts
        .upload(
            &token,
            "ID_PROOF",
            None,
            common::doc_jpeg(9, 800, 500),
            "x.jpg",
        )
        .await;
    common::problem(r, 409, "slot_full").await;

    // A multi-image category: after one, 继续上传 offers a second slot.
    web::upload(&b, "毕业证书 第1张", &diploma_path, &[]).await;
    assert!(b.labelled("毕业证书 第2张").await.is_some(), "继续上传");
    assert!(b.text().await.contains("继续上传"));

    // Delete the back (after a confirmation) and upload it again, turned
    // twice by the candidate (back where it was).
    web::confirm(&b, "#slot-ID_PROOF-1", "删除", "删除").await;
    b.wait(
        "the back deleted",
        "const s = document.getElementById('slot-ID_PROOF-1'); return s && s.textContent.includes('未上传');",
    )
    .await;
    assert!(image_at(&me(&base, &token).await, "ID_PROOF", 1).is_none());
    web::upload(&b, "身份证明 反面", &back_path, &["向右转", "向左转"]).await;
    let back = image_at(&me(&base, &token).await, "ID_PROOF", 1).expect("back again");
    assert!(back["width"].as_u64() > back["height"].as_u64(), "{back}");

    // Submit: every image shows 锁定, none has "－".
    web::confirm(&b, "#submit-box", "提交审核", "提交审核").await;
    b.wait_text("已提交审核，图片已锁定").await;
    assert_eq!(count(&b, ".lock-badge").await, 3);
    assert_eq!(count(&b, "button.minus").await, 0);
    assert!(b.text().await.contains("已锁定"));
    assert!(
        b.labelled("身份证明 正面").await.is_none(),
        "no upload while locked"
    );

    // The site reviewer: accepts two, unlocks the back with a reason and a
    // hostile note, sets 审核待定.
    let site = ts.login("nanjing").await;
    let m = me(&base, &token).await;
    let id_of = |cat: &str, slot: u64| {
        image_at(&m, cat, slot).expect("image")["id"]
            .as_i64()
            .expect("id")
    };
    let (front_id, back_id, dip_id) = (
        id_of("ID_PROOF", 0),
        id_of("ID_PROOF", 1),
        id_of("DIPLOMA", 0),
    );
    for id in [front_id, dip_id] {
        let r = ts
            .post_json(&site, &format!("/api/v1/images/{id}/lock"), &json!({}))
            .await;
        assert_eq!(r.status(), 200);
    }
    let hostile = "<script>alert(1)</script>请在光线充足处重拍";
    let r = ts
        .post_json(
            &site,
            &format!("/api/v1/images/{back_id}/unlock"),
            &json!({"reasons": ["BLURRY"], "note": hostile}),
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

    // The page: the reason at the top (linking to the image) and on it.
    b.goto(&format!("{base}/materials")).await;
    let top = b
        .js(
            "return document.getElementById('feedback').innerText;",
            vec![],
        )
        .await;
    let top = top.as_str().expect("feedback text");
    assert!(
        top.contains("【身份证明·反面】") && top.contains("图片模糊不清"),
        "{top}"
    );
    assert!(top.contains(hostile), "the note, as text: {top}");
    assert!(
        top.contains("上传材料内容不符合报名要求或模糊不清"),
        "the seed's words: {top}"
    );
    let link = b
        .js(
            "return document.querySelector('#feedback a').getAttribute('href');",
            vec![],
        )
        .await;
    assert_eq!(link, json!(format!("#img-{back_id}")));
    let on_image = b
        .js(
            "return document.querySelector('#slot-ID_PROOF-1 .reason').innerText;",
            vec![],
        )
        .await;
    assert!(
        on_image
            .as_str()
            .is_some_and(|t| t.contains("图片模糊不清")),
        "{on_image}"
    );
    assert_eq!(
        b.js("return document.querySelectorAll('script').length;", vec![])
            .await,
        json!(1),
        "the note did not become a script"
    );
    assert_eq!(count(&b, "button.minus").await, 1, "only the unlocked one");
    assert_eq!(count(&b, ".lock-badge").await, 2);

    // Replace it and resubmit; the site passes, the district has not yet.
    web::upload(&b, "身份证明 反面", &back_path, &[]).await;
    assert!(b.text().await.contains("已重新上传"));
    web::confirm(&b, "#submit-box", "提交审核", "提交审核").await;
    b.wait_text("已提交审核，图片已锁定").await;
    let r = ts
        .post_json(&site, &format!("/api/v1/images/{back_id}/lock"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let r = ts
        .post_json(
            &site,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "site", "decision": "pass"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    b.goto(&format!("{base}/materials")).await;
    let text = b.text().await;
    assert!(
        !text.contains("最终审核结果"),
        "not before the district: {text}"
    );
    assert!(text.contains("已通过，转考区审核"));

    // The district concludes: now the final result.
    let district = ts.login("jiangsu").await;
    let r = ts
        .post_json(
            &district,
            &format!("/api/v1/candidates/{cid}/decision"),
            &json!({"level": "district", "decision": "pass"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    b.goto(&format!("{base}/materials")).await;
    b.wait_text("最终审核结果：审核通过").await;

    b.quit().await;
    ts.shutdown().await;
}

/// What an accessibility review checks, asserted in the real page: labels
/// that name category and slot, names on every button, alt texts, a live
/// region per upload, state in words, and the keyboard path through
/// delete's confirmation (Enter opens it, focus goes into it, Escape
/// cancels and nothing is deleted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_labelled_and_keyboard_operable() {
    let ts = common::TestServer::start_demo(60).await;
    let base = ts.base_url.clone();
    let (_, reg_no, token) = web::fresh_candidate(&base).await;
    let r = ts
        .upload(
            &token,
            "ID_PROOF",
            Some(0),
            common::doc_jpeg(3, 900, 600),
            "f.jpg",
        )
        .await;
    assert_eq!(r.status(), 201);
    let b = Browser::start(390, 844).await;
    web::log_in(&b, &base, &reg_no).await;

    let report = b
        .js(
            "const out = [];\
             if (document.documentElement.lang !== 'zh-CN') out.push('lang');\
             for (const i of document.querySelectorAll('form.up input[type=file]')) {\
               const l = [...i.labels].map(l => l.textContent.trim());\
               if (l.length !== 1 || !/^\\S+ (正面|反面|第\\d+张)$/.test(l[0])) out.push('label ' + l);\
             }\
             for (const b of document.querySelectorAll('button')) {\
               if (!(b.textContent.trim() || b.getAttribute('aria-label'))) out.push('unnamed button');\
             }\
             for (const img of document.querySelectorAll('img')) if (!img.alt) out.push('no alt ' + img.src);\
             const forms = document.querySelectorAll('form.up').length;\
             const live = document.querySelectorAll('form.up [aria-live=polite]').length;\
             if (forms !== live || forms === 0) out.push('live regions ' + live + '/' + forms);\
             for (const s of document.querySelectorAll('.img-state')) {\
               if (!/已锁定|未锁定/.test(s.textContent)) out.push('state not in words');\
             }\
             return out;",
            vec![],
        )
        .await;
    assert_eq!(report, json!([]), "accessibility findings");

    // Tab from the file input reaches its 上传 button.
    let input = b.labelled("身份证明 正面").await.expect("input");
    b.js("arguments[0].focus();", vec![input.json()]).await;
    b.press("\u{E004}").await;
    let focused = b
        .js("return document.activeElement.textContent.trim();", vec![])
        .await;
    assert_eq!(focused, json!("重新上传"));

    // "－" by keyboard: Enter asks, focus moves into the dialog, Escape
    // cancels, the image is still there.
    b.js(
        "document.querySelector('#slot-ID_PROOF-0 button.minus').focus();",
        vec![],
    )
    .await;
    b.press("\u{E007}").await;
    b.wait(
        "the confirmation",
        "return document.getElementById('confirm').open;",
    )
    .await;
    let inside = b
        .js(
            "return document.getElementById('confirm').contains(document.activeElement);",
            vec![],
        )
        .await;
    assert_eq!(inside, json!(true), "focus in the dialog");
    b.press("\u{E00C}").await;
    b.wait(
        "the dialog closed",
        "return !document.getElementById('confirm').open;",
    )
    .await;
    let m = me(&base, &token).await;
    assert!(
        image_at(&m, "ID_PROOF", 0).is_some(),
        "Escape deleted nothing"
    );
    b.quit().await;
    ts.shutdown().await;
}

/// A dropped connection: the slot says so and offers 重试, which sends the
/// same prepared file with the same Idempotency-Key; one image results.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upload_is_retried_from_its_slot() {
    let ts = common::TestServer::start_demo(60).await;
    let base = ts.base_url.clone();
    let (_, reg_no, token) = web::fresh_candidate(&base).await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("front.jpg");
    std::fs::write(&file, web::exif_jpeg(&web::document(2000, 1300, 41), 1, 90)).expect("write");
    let b = Browser::start(390, 844).await;
    web::log_in(&b, &base, &reg_no).await;

    let input = b.labelled("身份证明 正面").await.expect("input");
    b.choose_file(&input, &file).await;
    b.wait(
        "the prepared photo",
        "const d = document.getElementById('prep'); return d.dataset.bytes && !d.querySelector('[data-act=upload]').disabled;",
    )
    .await;
    b.offline(true).await;
    let go = b.button("#prep", "上传").await.expect("上传");
    b.click(&go).await;
    b.wait(
        "the failure and 重试",
        "const s = document.getElementById('slot-ID_PROOF-0');\
         return s.textContent.includes('网络中断') && !s.querySelector('.retry').hidden;",
    )
    .await;
    assert!(image_at(&me(&base, &token).await, "ID_PROOF", 0).is_none());
    let live = b
        .js(
            "return document.querySelector('#slot-ID_PROOF-0 .progress-live').textContent;",
            vec![],
        )
        .await;
    assert!(
        live.as_str().is_some_and(|t| t.contains("网络中断")),
        "announced: {live}"
    );

    b.offline(false).await;
    let retry = b.button("#slot-ID_PROOF-0", "重试").await.expect("重试");
    b.click(&retry).await;
    b.wait(
        "the retried upload",
        "const s = document.getElementById('slot-ID_PROOF-0'); return s && s.querySelector('img');",
    )
    .await;
    let m = me(&base, &token).await;
    let front = image_at(&m, "ID_PROOF", 0).expect("stored once");
    assert_eq!(front["generation"], 1);
    assert!(front["bytes"].as_i64().is_some_and(|n| n <= 204_800));
    b.quit().await;
    ts.shutdown().await;
}
