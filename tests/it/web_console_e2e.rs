//! Both sides of the loop, for real: a candidate in headless Chromium
//! uploads; a site reviewer in the real console (in a pseudo-terminal)
//! unlocks one image with a reason and sets 审核待定; the browser shows the
//! reason; the candidate replaces the image and resubmits; the console
//! locks it and passes the candidate.

use crate::common;
use std::time::Duration;

use crate::support::console::{Console, command};
use crate::support::web::{self, api};
use crate::support::webdriver::Browser;
use reqwest::Method;
use serde_json::Value;

/// The console's calls block (they poll its screen): off the runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
// The guard only orders the PTY tests; this test's runtime is its own, so
// nothing else waits on it across the awaits.
#[allow(clippy::await_holding_lock)]
async fn browser_candidate_and_console_reviewer_close_the_loop() {
    let _one = crate::support::serial::pty_console();
    let ts = common::TestServer::start_demo(60).await;
    let base = ts.base_url.clone();
    let (cid, reg_no, token) = web::fresh_candidate(&base).await;
    let dir = tempfile::tempdir().expect("dir");
    let front = dir.path().join("front.jpg");
    let back = dir.path().join("back.jpg");
    std::fs::write(
        &front,
        web::exif_jpeg(&web::document(1600, 1000, 21), 1, 85),
    )
    .expect("front");
    std::fs::write(&back, web::exif_jpeg(&web::document(1600, 1000, 22), 1, 85)).expect("back");

    // The candidate uploads both sides and submits.
    let b = Browser::start(1280, 800).await;
    web::log_in(&b, &base, &reg_no).await;
    web::upload(&b, "身份证明 正面", &front, &[]).await;
    web::upload(&b, "身份证明 反面", &back, &[]).await;
    web::confirm(&b, "#submit-box", "提交审核", "提交审核").await;
    b.wait_text("已提交审核，图片已锁定").await;

    // The site reviewer, in the console: find the candidate, lock the
    // front, unlock the back as 图片模糊不清, set 审核待定.
    let home = tempfile::tempdir().expect("home");
    let site = ts.login("nanjing").await;
    let mut cmd = command(home.path(), &base, &site, None);
    cmd.env("NO_COLOR", "1");
    let mut screen = Console::start(cmd, 120, 40, false).with_patience(Duration::from_secs(120));
    let name = {
        let (_, me) = api(&base, &token, Method::GET, "/api/v1/candidate/me", None).await;
        me["name"].as_str().expect("name").to_string()
    };
    blocking(|| {
        screen.wait_for("the queue", |t| t.contains("队列"));
        screen.keys("/");
        screen.keys(&reg_no);
        screen.keys("\r");
        screen.wait_for("the candidate in the queue", |t| {
            t.contains(&name) && t.contains("队列 1/1 ")
        });
        screen.keys("\r");
        screen.wait_for("the candidate, claimed", |t| t.contains("由我审核"));
        screen.keys("a");
        screen.keys("x");
        screen.wait_for("the reason picker", |t| t.contains("图片模糊不清"));
        screen.keys("1\r");
        screen.keys("p");
        screen.wait_for("the pending picker", |t| {
            t.contains("上传材料不符合要求或模糊不清")
        });
        screen.keys("1\r");
        screen.wait_for("the decision", |t| t.contains("审核待定 · u 撤销"));
        screen.wait_for("everything sent", |t| t.contains("⟳ 0 待发送"));
    });

    // The browser shows the reason, at the top and on the image.
    b.goto(&format!("{base}/materials")).await;
    let top = b
        .js(
            "return document.getElementById('feedback').innerText;",
            vec![],
        )
        .await;
    let top = top.as_str().expect("text");
    assert!(
        top.contains("【身份证明·反面】") && top.contains("图片模糊不清"),
        "{top}"
    );
    assert!(top.contains("审核待定"), "{top}");
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

    // The candidate replaces it and resubmits.
    web::upload(&b, "身份证明 反面", &front, &["向右转", "向左转"]).await;
    web::confirm(&b, "#submit-box", "提交审核", "提交审核").await;
    b.wait_text("已提交审核，图片已锁定").await;

    // The console: back to the queue, search again, lock the replacement,
    // pass.
    blocking(|| {
        screen.keys("q");
        screen.wait_for("the queue", |t| t.contains("队列"));
        // Whatever the search field holds now, replace it.
        screen.keys("/");
        screen.keys(&"\x7f".repeat(20));
        screen.keys(&reg_no);
        screen.keys("\r");
        screen.wait_for("the resubmitted candidate", |t| {
            t.contains(&name) && t.contains("队列 1/1 ")
        });
        screen.keys("\r");
        screen.wait_for("the candidate again", |t| t.contains("由我审核"));
        screen.keys("a");
        screen.keys("P");
        screen.wait_for("the pass", |t| t.contains("审核通过 · u 撤销"));
        screen.wait_for("everything sent", |t| t.contains("⟳ 0 待发送"));
        screen.keys("qq");
    });
    let status = blocking(|| screen.wait_exit());
    assert!(status.success(), "console exit {status:?}");

    let d: Value = ts
        .get_json(&site, &format!("/api/v1/candidates/{cid}"))
        .await;
    assert_eq!(d["site_review"]["state"], "passed", "{}", d["site_review"]);
    let imgs = web::images(&d);
    assert_eq!(imgs.len(), 2);
    assert!(
        imgs.iter()
            .all(|i| i["verdict"] == "accepted" && i["lock"] == "locked"),
        "{imgs:?}"
    );
    b.goto(&format!("{base}/materials")).await;
    let text = b.text().await;
    assert!(
        text.contains("已通过，转考区审核") && !text.contains("最终审核结果"),
        "{text}"
    );

    b.quit().await;
    ts.shutdown().await;
}
