//! Several `shenhe serve` instances on one PostgreSQL database (issue 15):
//! live events cross instances (a change made through A reaches a stream
//! held on B), and a chaos run of 1,000 decisions by five reviewers spread
//! over both, with A SIGKILLed half-way and its reviewers failed over to B
//! (as a load balancer would), lands every decision exactly once.
//!
//! Needs `SHENHE_TEST_PG` (the CI's PostgreSQL stage sets it); without it
//! these say so and return, as the other PostgreSQL-only tests do.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::StreamExt;
use shenhe::api::sse::SseParser;
use shenhe::server::blobs::Blobs;
use shenhe::server::store::{AnyStore, DbTarget};

use crate::chaos::{REVIEWERS, Shared, reviewer};
use crate::common::{self, PgDatabase, TestServer};
use crate::support::child_server::ChildServer;
use crate::support::fault_proxy::FaultProxy;

fn admin() -> Option<String> {
    let a = common::test_pg();
    if a.is_none() {
        eprintln!("pg_instances: needs SHENHE_TEST_PG (a PostgreSQL server); skipped");
    }
    a
}

/// A fresh database with the demo and three more reviewers, its blob
/// folder, and the awaiting candidates of each of the five reviewers.
async fn prepare(
    admin: &str,
    blobs_dir: &Path,
    per: usize,
) -> (PgDatabase, HashMap<&'static str, Vec<i64>>) {
    let db = PgDatabase::create(admin).await;
    let any = AnyStore::open(
        &DbTarget::Postgres(db.url.clone()),
        shenhe::domain::undo_window::DEFAULT,
    )
    .await
    .expect("open");
    let blobs = Blobs::local(blobs_dir).expect("blobs");
    shenhe::server::seed::seed_demo(&any, &blobs, 4_000, chrono::Utc::now())
        .await
        .expect("seed");
    any.close().await;
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    for (user, site) in &REVIEWERS[2..] {
        let hash = shenhe::server::auth::hash_password(common::PASSWORD).expect("hash");
        sqlx::query(
            "INSERT INTO reviewers (username, display_name, level, district, site, password_hash) \
             VALUES ($1, $2, 'site', '江苏考区', $3, $4)",
        )
        .bind(user)
        .bind(format!("测试{user}"))
        .bind(site)
        .bind(hash)
        .execute(&mut c)
        .await
        .expect("insert reviewer");
    }
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, site FROM candidates WHERE site_state = 'awaiting_review' \
         AND claim_reviewer IS NULL ORDER BY id",
    )
    .fetch_all(&mut c)
    .await
    .expect("candidates");
    let mut out: HashMap<&'static str, Vec<i64>> = HashMap::new();
    for site in ["南京考点", "苏州考点"] {
        let names: Vec<&'static str> = REVIEWERS
            .iter()
            .filter(|(_, s)| *s == site)
            .map(|(u, _)| *u)
            .collect();
        for (i, (id, _)) in rows.iter().filter(|(_, s)| s == site).enumerate() {
            out.entry(names[i % names.len()]).or_default().push(*id);
        }
    }
    for (user, _) in REVIEWERS {
        let ids = out.entry(user).or_default();
        assert!(
            ids.len() >= per,
            "{user}: {} candidates, needs {per}",
            ids.len()
        );
        ids.truncate(per);
    }
    (db, out)
}

async fn instance(db: &PgDatabase, blobs: &Path, log: &Path) -> ChildServer {
    // --demo only for its open review window: nothing is seeded again.
    ChildServer::start(
        Path::new(&db.url),
        log,
        &["--demo", "--blobs", &blobs.display().to_string()],
    )
    .await
}

/// A test client through each of the two instances.
fn through(db: &PgDatabase, a: &ChildServer, b: &ChildServer) -> (TestServer, TestServer) {
    let over = |s: &ChildServer| {
        TestServer::over(
            &s.base_url,
            db.url.clone().into(),
            tempfile::tempdir().expect("d"),
        )
    };
    (over(a), over(b))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_through_one_instance_reaches_a_stream_on_the_other() {
    let Some(admin) = admin() else { return };
    crate::support::install_crypto();
    let dir = tempfile::tempdir().expect("dir");
    let blobs = dir.path().join("blobs");
    let (db, mine) = prepare(&admin, &blobs, 1).await;
    let a = instance(&db, &blobs, &dir.path().join("a.log")).await;
    let b = instance(&db, &blobs, &dir.path().join("b.log")).await;
    let (via_a, via_b) = through(&db, &a, &b);
    let token_a = via_a.login("nanjing").await;
    let token_b = via_b.login("nanjing").await;
    let id = mine["nanjing"][0];

    let resp = via_b
        .req(reqwest::Method::GET, "/api/v1/events", Some(&token_b))
        .send()
        .await
        .expect("stream on B");
    assert_eq!(resp.status(), 200);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        let mut parser = SseParser::default();
        let mut body = resp.bytes_stream();
        while let Some(Ok(chunk)) = body.next().await {
            for m in parser.feed(&chunk) {
                if tx.send((Instant::now(), m)).is_err() {
                    return;
                }
            }
        }
    });
    // Claim and release through A, one at a time: each must arrive on B.
    let mut delays = Vec::new();
    let mut last_id = 0i64;
    for i in 0..50 {
        let sent = Instant::now();
        let r = if i % 2 == 0 {
            via_a
                .post_json(
                    &token_a,
                    &format!("/api/v1/candidates/{id}/claim"),
                    &serde_json::json!({}),
                )
                .await
        } else {
            via_a
                .delete(&token_a, &format!("/api/v1/candidates/{id}/claim"))
                .await
        };
        assert!(r.status().is_success(), "{}", r.status());
        let want = if i % 2 == 0 { "claim" } else { "release" };
        let (at, m) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("the change reaches B (10 s guard)")
            .expect("stream open");
        assert_eq!(m.event, "candidate");
        assert!(m.data.contains(want), "{i}: {}", m.data);
        let seq: i64 = m.id.as_deref().expect("id").parse().expect("number");
        assert!(seq > last_id, "numbers grow: {seq} after {last_id}");
        last_id = seq;
        delays.push(at.duration_since(sent).as_secs_f64() * 1000.0);
    }
    delays.sort_by(f64::total_cmp);
    eprintln!(
        "event delay A→B (request sent through A to event read on B), 50 changes: \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays[delays.len() - 1]
    );
    reader.abort();
    drop((a, b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_decisions_over_two_instances_survive_a_sigkill_exactly_once() {
    let Some(admin) = admin() else { return };
    crate::support::install_crypto();
    let decisions = 1_000;
    let per = decisions / REVIEWERS.len();
    let dir = tempfile::tempdir().expect("dir");
    let blobs = dir.path().join("blobs");
    let (db, assignment) = prepare(&admin, &blobs, per).await;
    let mut a = instance(&db, &blobs, &dir.path().join("a.log")).await;
    let b = instance(&db, &blobs, &dir.path().join("b.log")).await;
    // A balancer per reviewer: reviewers 0, 2, 4 on A, 1 and 3 on B.
    let mut proxies = Vec::new();
    for i in 0..REVIEWERS.len() {
        let up = if i % 2 == 0 { a.addr } else { b.addr };
        proxies.push(Arc::new(FaultProxy::start(up).await));
    }
    let shared = Arc::new(Shared::default());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, (user, _)) in REVIEWERS.iter().enumerate() {
        tasks.push(tokio::spawn(reviewer(
            user,
            proxies[i].url(),
            dir.path().join(format!("{user}.outbox.jsonl")),
            assignment[user].clone(),
            shared.clone(),
        )));
    }
    // Half-way, A dies without a word; its reviewers' balancer sends them
    // to B after a moment (what was in flight on A is retried by key).
    while (shared.confirmed.load(Ordering::Relaxed) as usize) < decisions / 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let at_kill = shared.confirmed.load(Ordering::Relaxed);
    a.kill9().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (i, p) in proxies.iter().enumerate() {
        if i % 2 == 0 {
            p.set_upstream(b.addr);
        }
    }
    let mut sent: Vec<(&str, i64, String)> = Vec::new();
    for (task, (user, _)) in tasks.into_iter().zip(REVIEWERS) {
        for (cid, key) in task.await.expect("reviewer") {
            sent.push((user, cid, key));
        }
    }
    let wall = started.elapsed();

    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT candidate_id, actor, idempotency_key FROM audit \
         WHERE action = 'candidate.decision' AND idempotency_key IS NOT NULL",
    )
    .fetch_all(&mut c)
    .await
    .expect("audit");
    let mut by_key: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for (cid, actor, key) in rows {
        by_key.entry(key).or_default().push((cid, actor));
    }
    let (mut missing, mut duplicated, mut wrong) = (0, 0, 0);
    for (user, cid, key) in &sent {
        match by_key.get(key).map(Vec::as_slice) {
            None | Some([]) => missing += 1,
            Some([(c, actor)]) if c == cid && actor == user => {}
            Some([_]) => wrong += 1,
            Some(_) => duplicated += 1,
        }
    }
    let stray = by_key.len().saturating_sub(sent.len());
    eprintln!(
        "two instances: {} decisions by {} reviewers in {:.1} s; A SIGKILLed after {at_kill} \
         confirmed; confirmed {}, refused {}, client retries {}; audit: missing {missing}, \
         duplicated {duplicated}, wrong reviewer {wrong}, stray {stray}",
        sent.len(),
        REVIEWERS.len(),
        wall.as_secs_f64(),
        shared.confirmed.load(Ordering::Relaxed),
        shared.refused.load(Ordering::Relaxed),
        shared.retries.load(Ordering::Relaxed),
    );
    assert_eq!(sent.len(), decisions);
    assert_eq!((missing, duplicated, wrong, stray), (0, 0, 0, 0));
    assert_eq!(shared.refused.load(Ordering::Relaxed), 0);
    assert_eq!(shared.confirmed.load(Ordering::Relaxed) as usize, decisions);
    drop(b);
}

/// An upload through A is in B's near-duplicate index at once: the same
/// document (re-encoded at another quality, so not a byte-for-byte copy)
/// uploaded through B by another candidate is flagged as A's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_near_duplicate_uploaded_through_the_other_instance_is_flagged() {
    let Some(admin) = admin() else { return };
    crate::support::install_crypto();
    let dir = tempfile::tempdir().expect("dir");
    let blobs = dir.path().join("blobs");
    let (db, _) = prepare(&admin, &blobs, 0).await;
    let a = instance(&db, &blobs, &dir.path().join("a.log")).await;
    let b = instance(&db, &blobs, &dir.path().join("b.log")).await;
    let (via_a, via_b) = through(&db, &a, &b);
    let reviewer = via_b.login("nanjing").await;
    let open = via_b.candidates(&reviewer, Some("not_started")).await;
    let reg = |i: usize| open[i]["reg_no"].as_str().expect("reg_no").to_string();
    let first = via_a.login_candidate(&reg(0)).await;
    let second = via_b.login_candidate(&reg(1)).await;

    let r = via_a
        .upload(
            &first,
            "OTHER",
            None,
            common::doc_jpeg(77, 900, 600),
            "a.jpg",
        )
        .await;
    assert_eq!(r.status(), 201);
    let original: serde_json::Value = r.json().await.expect("json");
    let original = original["image"]["id"].as_i64().expect("id");
    // B hears of it through the database (its listener), then:
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = via_b
            .upload(
                &second,
                "OTHER",
                None,
                common::doc_jpeg_at(77, 900, 600, 60),
                "b.jpg",
            )
            .await;
        assert_eq!(r.status(), 201);
        let up: serde_json::Value = r.json().await.expect("json");
        let id = up["image"]["id"].as_i64().expect("id");
        let cand = open[1]["id"].as_i64().expect("id");
        let d: serde_json::Value = via_b
            .get_json(&reviewer, &format!("/api/v1/candidates/{cand}"))
            .await;
        let image = d["materials"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|m| m["images"].as_array().cloned().unwrap_or_default())
            .find(|i| i["id"].as_i64() == Some(id))
            .expect("the upload in the dossier");
        let near: Vec<i64> = image["hints"]["near_duplicate_of"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["image_id"].as_i64())
            .collect();
        if near.contains(&original) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B never flagged the copy of A's upload: {}",
            image["hints"]
        );
        // Not yet heard: take the attempt back, try again.
        let r = via_b
            .delete(&second, &format!("/api/v1/candidate/images/{id}"))
            .await;
        assert!(r.status().is_success());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop((a, b));
}

/// Instances' clocks may drift; what they record does not: on PostgreSQL
/// the store takes "now" from the database. A caller whose clock says 2001
/// still gets a claim that runs five minutes from the database's now.
#[tokio::test]
async fn times_come_from_the_database_clock() {
    let Some(admin) = admin() else { return };
    let dir = tempfile::tempdir().expect("dir");
    let (db, mine) = prepare(&admin, &dir.path().join("blobs"), 1).await;
    let any = AnyStore::open(
        &DbTarget::Postgres(db.url.clone()),
        shenhe::domain::undo_window::DEFAULT,
    )
    .await
    .expect("open");
    let store = any.as_dyn();
    let (who, _) = store
        .reviewer_credentials("nanjing")
        .await
        .expect("lookup")
        .expect("nanjing");
    let skewed = chrono::DateTime::parse_from_rfc3339("2001-01-01T00:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let (claim, _) = store
        .claim(&who, mine["nanjing"][0], skewed)
        .await
        .expect("claim");
    let left = claim.expires_at - chrono::Utc::now();
    assert!(
        left > chrono::Duration::minutes(4) && left <= chrono::Duration::minutes(6),
        "the claim runs from the database's now, not the caller's 2001: expires {}",
        claim.expires_at
    );
    any.close().await;
}
