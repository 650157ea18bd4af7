//! The queue after issue 14: every tab, walked page by page through the
//! keyset cursor, holds exactly the candidates its count says, in order,
//! without repeats; the counts (kept by triggers) and the per-row badges
//! (kept by triggers) agree with a recount from the base tables after
//! writes; a database made before migration 0003 migrates with the same
//! result; and the dossier read in one statement equals the one an undo
//! builds from its parts.

use crate::common;

use std::collections::HashSet;

use common::TestServer;
use serde_json::{Value, json};
use sqlx::sqlite::SqliteConnectOptions;

const SITE_TABS: [&str; 6] = [
    "awaiting_review",
    "pending",
    "passed",
    "rejected",
    "returned",
    "not_started",
];
const DISTRICT_TABS: [&str; 5] = [
    "awaiting_review",
    "pending",
    "passed",
    "rejected",
    "returned",
];

/// Every page of a tab with a small limit; checks the order and that no
/// candidate repeats. Returns (items, counts of the first page).
async fn walk(ts: &TestServer, token: &str, state: Option<&str>) -> (Vec<Value>, Value) {
    let mut items: Vec<Value> = Vec::new();
    let mut counts = Value::Null;
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/api/v1/candidates?limit=7".to_string();
        if let Some(s) = state {
            path.push_str(&format!("&state={s}"));
        }
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let v: Value = ts.get_json(token, &path).await;
        if counts.is_null() {
            counts = v["counts"].clone();
        }
        let page = v["items"].as_array().cloned().unwrap_or_default();
        assert!(page.len() <= 7);
        items.extend(page);
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let ids: HashSet<i64> = items.iter().filter_map(|i| i["id"].as_i64()).collect();
    assert_eq!(ids.len(), items.len(), "a candidate repeats in {state:?}");
    // (submitted_at, id) ascending; not yet submitted (null) sort by
    // creation, which the API does not show, so only submitted ones are
    // compared with each other.
    let keys: Vec<(String, i64)> = items
        .iter()
        .filter_map(|i| Some((i["submitted_at"].as_str()?.to_string(), i["id"].as_i64()?)))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "{state:?} out of order");
    (items, counts)
}

fn n(counts: &Value, k: &str) -> usize {
    counts[k].as_u64().unwrap_or(u64::MAX) as usize
}

async fn check_tabs(ts: &TestServer) {
    for user in ["nanjing", "suzhou", "jiangsu"] {
        let t = ts.login(user).await;
        let tabs: &[&str] = if user == "jiangsu" {
            &DISTRICT_TABS
        } else {
            &SITE_TABS
        };
        let (all, counts) = walk(ts, &t, None).await;
        let mut whole = 0;
        for tab in tabs {
            let (items, _) = walk(ts, &t, Some(tab)).await;
            assert_eq!(items.len(), n(&counts, tab), "{user} {tab}: {counts}");
            for i in &items {
                if *tab == "returned" && user != "jiangsu" {
                    assert_eq!(i["state"], "awaiting_review");
                    assert_eq!(i["district_review"], "returned");
                } else {
                    assert_eq!(i["state"], *tab, "{user} {tab}");
                }
            }
            // A site's returned tab is part of its awaiting tab.
            if !(*tab == "returned" && user != "jiangsu") {
                whole += items.len();
            }
        }
        assert_eq!(all.len(), whole, "{user}: the whole queue is its tabs");
    }
}

/// [`recount`] of the test server's database, on either engine.
async fn recount_of(ts: &TestServer) -> (Vec<(String, String, String, i64)>, i64) {
    let Some(pg) = &ts.pg else {
        return recount(&ts.db).await;
    };
    let pool = sqlx::PgPool::connect(&pg.url).await.expect("open");
    let by_state: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT site, site_state, district_state, COUNT(*) FROM candidates \
         GROUP BY site, site_state, district_state \
         ORDER BY site COLLATE \"C\", site_state COLLATE \"C\", district_state COLLATE \"C\"",
    )
    .fetch_all(&pool)
    .await
    .expect("recount");
    let kept: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT site, site_state, district_state, n FROM queue_counts WHERE n > 0 \
         ORDER BY site COLLATE \"C\", site_state COLLATE \"C\", district_state COLLATE \"C\"",
    )
    .fetch_all(&pool)
    .await
    .expect("counts");
    assert_eq!(kept, by_state, "queue_counts drifted from the candidates");
    let wrong_badges: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM candidates c WHERE c.image_count <> \
         (SELECT COUNT(*) FROM images i WHERE i.candidate_id = c.id) OR c.flagged_count <> \
         (SELECT COUNT(*) FROM images i WHERE i.candidate_id = c.id AND i.flagged)",
    )
    .fetch_one(&pool)
    .await
    .expect("badges");
    pool.close().await;
    (by_state, wrong_badges)
}

/// The counts and badges as a recount from the base tables sees them.
async fn recount(db: &std::path::Path) -> (Vec<(String, String, String, i64)>, i64) {
    let opts = SqliteConnectOptions::new().filename(db).read_only(true);
    let pool = sqlx::SqlitePool::connect_with(opts).await.expect("open");
    let by_state: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT site, site_state, district_state, COUNT(*) FROM candidates \
         GROUP BY site, site_state, district_state ORDER BY 1, 2, 3",
    )
    .fetch_all(&pool)
    .await
    .expect("recount");
    let kept: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT site, site_state, district_state, n FROM queue_counts WHERE n > 0 \
         ORDER BY 1, 2, 3",
    )
    .fetch_all(&pool)
    .await
    .expect("counts");
    assert_eq!(kept, by_state, "queue_counts drifted from the candidates");
    let wrong_badges: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM candidates c WHERE c.image_count <> \
         (SELECT COUNT(*) FROM images i WHERE i.candidate_id = c.id) OR c.flagged_count <> \
         (SELECT COUNT(*) FROM images i WHERE i.candidate_id = c.id AND i.flagged <> 0)",
    )
    .fetch_one(&pool)
    .await
    .expect("badges");
    pool.close().await;
    (by_state, wrong_badges)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tab_pages_to_its_count_and_counts_follow_writes() {
    let ts = TestServer::start_demo(300).await;
    check_tabs(&ts).await;
    let (_, wrong) = recount_of(&ts).await;
    assert_eq!(wrong, 0, "badges after the seed");

    // Writes at both levels move candidates between tabs.
    let nj = ts.login("nanjing").await;
    let js = ts.login("jiangsu").await;
    let awaiting = ts.candidates(&nj, Some("awaiting_review")).await;
    for (k, c) in awaiting.iter().take(12).enumerate() {
        let id = c["id"].as_i64().expect("id");
        let body = if k % 2 == 0 {
            json!({"level": "site", "decision": "pending", "reasons": ["MAT_NONCOMPLIANT"]})
        } else {
            json!({"level": "site", "decision": "reject", "reasons": ["INELIGIBLE"]})
        };
        let r = ts
            .post_json(&nj, &format!("/api/v1/candidates/{id}/decision"), &body)
            .await;
        assert_eq!(r.status(), 200);
    }
    let at_district = ts.candidates(&js, Some("awaiting_review")).await;
    for c in at_district.iter().take(6) {
        let id = c["id"].as_i64().expect("id");
        let body = json!({"level": "district", "decision": "return", "reasons": ["INFO_WRONG"]});
        let r = ts
            .post_json(&js, &format!("/api/v1/candidates/{id}/decision"), &body)
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }
    check_tabs(&ts).await;
    let (_, wrong) = recount_of(&ts).await;
    assert_eq!(wrong, 0);
    ts.shutdown().await;
}

/// A database made by migrations 0001–0002 (before the counts table and
/// the badge columns) migrates on open with the same counts and badges.
#[tokio::test]
async fn a_database_from_before_0003_migrates() {
    let dir = tempfile::tempdir().expect("dir");
    let old = dir.path().join("old-migrations");
    std::fs::create_dir(&old).expect("dir");
    for f in ["0001_init.sql", "0002_audit_idempotency.sql"] {
        std::fs::copy(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations/sqlite")
                .join(f),
            old.join(f),
        )
        .expect("copy");
    }
    let db = dir.path().join("old.db");
    {
        let opts = SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(opts).await.expect("open");
        sqlx::migrate::Migrator::new(old.as_path())
            .await
            .expect("migrator")
            .run(&pool)
            .await
            .expect("old schema");
        sqlx::raw_sql(
            "INSERT INTO blobs VALUES ('s1', 'jpeg', x'00'); \
             INSERT INTO candidates (id, reg_no, name, id_type, id_number, gender, birth_date, \
               exam_category, district, site, education, school, major, phone, password_hash, \
               created_at, sort_at, updated_at, site_state, district_state) VALUES \
             (1, 'R1', '甲', '居民身份证', 'x', '男', '1990-01-01', 'c', 'D', 'S1', 'e', 's', 'm', \
              'p', 'h', 0, 0, 0, 'awaiting_review', 'not_started'), \
             (2, 'R2', '乙', '居民身份证', 'x', '男', '1990-01-01', 'c', 'D', 'S1', 'e', 's', 'm', \
              'p', 'h', 0, 1, 0, 'passed', 'returned'), \
             (3, 'R3', '丙', '居民身份证', 'x', '男', '1990-01-01', 'c', 'D', 'S2', 'e', 's', 'm', \
              'p', 'h', 0, 2, 0, 'awaiting_review', 'not_started'); \
             INSERT INTO images (candidate_id, category, slot, format, bytes, width, height, \
               sha256, uploaded_at, phase, flagged) VALUES \
             (1, 'ID_PROOF', 0, 'jpeg', 1, 1, 1, 's1', 0, 'submitted', 1), \
             (1, 'ID_PROOF', 1, 'jpeg', 1, 1, 1, 's1', 0, 'submitted', 0), \
             (3, 'DIPLOMA', 0, 'jpeg', 1, 1, 1, 's1', 0, 'submitted', 1);",
        )
        .execute(&pool)
        .await
        .expect("old rows");
        pool.close().await;
    }
    let store = shenhe::server::store::SqliteStore::open(&db)
        .await
        .expect("migrates");
    store.close().await;
    let (by_state, wrong) = recount(&db).await;
    assert_eq!(wrong, 0, "badges backfilled");
    assert_eq!(by_state.len(), 3);
}

/// The dossier of GET (one statement, JSON assembled by SQLite) and the
/// one an undo answers with (built from separate reads inside the writer)
/// are the same document.
#[tokio::test]
async fn the_dossier_read_equals_the_one_undo_builds() {
    let ts = TestServer::start_demo(40).await;
    let t = ts.login("nanjing").await;
    for c in ts.candidates(&t, Some("awaiting_review")).await {
        let cid = c["id"].as_i64().expect("id");
        let d: Value = ts.get_json(&t, &format!("/api/v1/candidates/{cid}")).await;
        let Some(img) = d["materials"]
            .as_array()
            .expect("materials")
            .iter()
            .flat_map(|m| m["images"].as_array().cloned().unwrap_or_default())
            .find(|i| i["verdict"] == "unreviewed")
        else {
            continue;
        };
        let iid = img["id"].as_i64().expect("id");
        // A message that stands (a phone call), and one the undo withdraws.
        let r = ts
            .post_json(
                &t,
                &format!("/api/v1/candidates/{cid}/feedback"),
                &json!({"channel": "phone", "body": "已电话通知考生"}),
            )
            .await;
        assert!(r.status().is_success(), "{}", r.status());
        let r = ts
            .post_json(
                &t,
                &format!("/api/v1/images/{iid}/unlock"),
                &json!({"reasons": ["BLURRY"], "note": "请重新拍摄"}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let ev: Value = r.json().await.expect("json");
        let r = ts
            .post_json(
                &t,
                &format!("/api/v1/audit/{}/undo", ev["audit_id"]),
                &json!({}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let undone: Value = r.json().await.expect("json");
        let read: Value = ts.get_json(&t, &format!("/api/v1/candidates/{cid}")).await;
        assert_eq!(undone["candidate"], read);
        let feedback = read["feedback"].as_array().expect("feedback");
        assert_eq!(feedback.len(), 1, "{feedback:?}");
        assert_eq!(
            feedback[0]["channel"], "phone",
            "the unlock's message withdrawn"
        );
        ts.shutdown().await;
        return;
    }
    panic!("no candidate with an unreviewed image");
}
