//! End to end in a real pseudo-terminal: `shenhe demo` starts, a reviewer
//! opens the first candidate, locks two images, unlocks one as BLURRY, sets
//! 审核待定 with MAT_NONCOMPLIANT and quits; then the HTTP API must hold
//! exactly those decisions, in the audit log, under the reviewer's name.

use crate::support;

use std::time::Duration;

use shenhe::api::client::{Client, Timeouts};
use shenhe::api::dto::{CandidateDetail, CandidateQuery, ImageDto};
use shenhe::domain::image::Verdict;
use shenhe::domain::review::ReviewStatus;
use support::console::Console;

const ROWS: u16 = 40;
const COLS: u16 = 120;
/// Generous: a debug build seeds the demo data first. Only a guard against
/// hanging forever, never a speed assertion.
const PATIENCE: Duration = Duration::from_secs(180);

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn client(base: &str) -> Client {
    let c = Client::new(base, None, Timeouts::default()).expect("client");
    c.login("nanjing", "demo").await.expect("login");
    c
}

fn flat(d: &CandidateDetail) -> Vec<ImageDto> {
    d.materials.iter().flat_map(|m| m.images.clone()).collect()
}

/// The console's rule: the first unreviewed image after `from`.
fn next_unreviewed(imgs: &[ImageDto], from: usize) -> usize {
    (1..imgs.len())
        .map(|k| (from + k) % imgs.len())
        .find(|&j| imgs[j].verdict == Verdict::Unreviewed)
        .expect("another unreviewed image")
}

#[test]
fn review_in_a_real_terminal_then_check_the_api() {
    let _one = support::serial::pty_console();
    support::install_crypto();
    let home = tempfile::tempdir().expect("home");
    let db = home.path().join("demo.db");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");

    let mut cmd = support::console::in_home(home.path());
    cmd.args([
        "demo",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--db",
        db.to_str().expect("utf-8 path"),
        "--candidates",
        "24",
    ]);
    cmd.env("NO_COLOR", "1");
    let mut screen = Console::start(cmd, COLS, ROWS, false).with_patience(PATIENCE);

    screen.wait_for("the populated queue", |t| t.contains("队列 1/"));

    // What the console will open: the first row of 待审核.
    let (id, before) = rt().block_on(async {
        let c = client(&base).await;
        let list = c
            .candidates(&CandidateQuery {
                state: Some("awaiting_review".into()),
                limit: Some(200),
                ..CandidateQuery::default()
            })
            .await
            .expect("list");
        let first = list.items.first().expect("a candidate").clone();
        (first.id, c.candidate(first.id).await.expect("detail"))
    });
    let imgs = flat(&before);
    let i0 = imgs
        .iter()
        .position(|i| i.verdict == Verdict::Unreviewed)
        .expect("unreviewed image");
    let i1 = next_unreviewed(&imgs, i0);
    let i2 = next_unreviewed(&imgs, i1);

    screen.keys("\r");
    screen.wait_for("the candidate, claimed", |t| {
        t.contains(&before.name) && t.contains("由我审核")
    });
    // Two locks, an unlock with BLURRY (picker key 1), then 审核待定 with
    // MAT_NONCOMPLIANT (picker key 1).
    screen.keys("aa");
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
    screen.keys("qq");
    let status = screen.wait_exit();
    assert!(status.success(), "exit status {status:?}");

    // The demo server is gone with the console; the database stays. Serve
    // it again and ask the API what is stored.
    rt().block_on(async {
        let server = shenhe::server::start(shenhe::server::ServerConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            db: db.clone().into(),
            blobs: None,
            demo: None,
            window: shenhe::domain::rules::ReviewWindow::around(chrono::Local::now().date_naive()),
            tls: None,
            undo_window: shenhe::domain::undo_window::DEFAULT,
            request_timeout: shenhe::server::REQUEST_TIMEOUT,
        })
        .await
        .expect("server");
        let c = client(&server.base_url).await;
        let after = c.candidate(id).await.expect("detail");
        let now_imgs = flat(&after);
        for (k, img) in now_imgs.iter().enumerate() {
            let expected = if k == i0 || k == i1 {
                Verdict::Accepted
            } else if k == i2 {
                Verdict::ReplaceRequested
            } else {
                imgs[k].verdict
            };
            assert_eq!(img.verdict, expected, "image {k} ({})", img.id);
        }
        assert_eq!(now_imgs[i2].reasons, vec!["BLURRY".to_string()]);
        assert_eq!(after.site_review.state, ReviewStatus::Pending);
        assert_eq!(
            after.site_review.reasons,
            vec!["MAT_NONCOMPLIANT".to_string()]
        );
        assert_eq!(after.site_review.reviewer.as_deref(), Some("nanjing"));

        let audit = c.audit(id).await.expect("audit");
        let mine: Vec<_> = audit
            .items
            .iter()
            .filter(|e| {
                matches!(
                    e.action.as_str(),
                    "image.lock" | "image.unlock" | "candidate.decision" | "undo"
                ) && e.at >= before.updated_at
            })
            .collect();
        let summary: Vec<(String, String, Vec<String>)> = mine
            .iter()
            .map(|e| (e.actor.clone(), e.action.clone(), e.reasons.clone()))
            .collect();
        let who = "nanjing".to_string();
        assert_eq!(
            summary,
            vec![
                (who.clone(), "image.lock".into(), vec![]),
                (who.clone(), "image.lock".into(), vec![]),
                (who.clone(), "image.unlock".into(), vec!["BLURRY".into()]),
                (
                    who.clone(),
                    "candidate.decision".into(),
                    vec!["MAT_NONCOMPLIANT".into()]
                ),
            ],
            "audit: {:#?}",
            audit.items
        );
        assert_eq!(mine[0].target, format!("image:{}", imgs[i0].id));
        assert_eq!(mine[1].target, format!("image:{}", imgs[i1].id));
        assert_eq!(mine[2].target, format!("image:{}", imgs[i2].id));
        for e in &mine {
            assert!(e.idempotency_key.is_some(), "{e:?} has no Idempotency-Key");
        }
        let _ = server.shutdown().await;
    });
}
