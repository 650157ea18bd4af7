//! Group commit through the real store: writes queued together run as one
//! batch (one transaction, one fsync), each in its own savepoint, so the
//! version check still lets exactly one of twenty racing judgements win,
//! the others are refused with a 409 and leave nothing behind.

use chrono::Utc;
use serde_json::Value;
use shenhe::domain::review::Level;
use shenhe::server::seed::{self, DISTRICT, SITE_NANJING};
use shenhe::server::store::{
    Ctx, Judgement, ListQuery, ReviewerInfo, SqliteStore, Store, StoreError,
};

fn nanjing() -> ReviewerInfo {
    ReviewerInfo {
        id: 1,
        username: "nanjing".into(),
        display_name: "王审核".into(),
        level: Level::Site,
        district: DISTRICT.into(),
        site: Some(SITE_NANJING.into()),
    }
}

/// The writer is held while every future of `join_all` queues its job
/// (on its first poll), then let go: the twenty are one batch.
#[tokio::test]
async fn twenty_racing_judgements_are_one_batch_with_one_winner() {
    let dir = tempfile::tempdir().expect("dir");
    let store = SqliteStore::open(&dir.path().join("w.db"))
        .await
        .expect("open");
    let blobs = shenhe::server::blobs::Blobs::local(&dir.path().join("blobs")).expect("blobs");
    seed::seed_demo(&store, &blobs, 40, Utc::now())
        .await
        .expect("seed");
    let who = nanjing();
    let page = store
        .list_candidates(
            &who,
            ListQuery {
                state: Some(shenhe::domain::review::ReviewStatus::AwaitingReview),
                q: None,
                after: None,
                limit: 50,
                descending: false,
            },
            Utc::now(),
        )
        .await
        .expect("queue");
    let (cid, image) = {
        let mut found = None;
        for c in &page.list.items {
            let d = store
                .candidate_detail(&who, c.id, Utc::now())
                .await
                .expect("dossier");
            let d = serde_json::to_value(d).expect("json");
            if let Some(i) = d["materials"]
                .as_array()
                .expect("materials")
                .iter()
                .flat_map(|m| m["images"].as_array().cloned().unwrap_or_default())
                .find(|i| i["verdict"] == "unreviewed")
            {
                found = Some((c.id, i));
                break;
            }
        }
        found.expect("an unreviewed image")
    };
    let iid = image["id"].as_i64().expect("id");
    let v0 = image["version"].as_i64().expect("version");
    let audit_before = store.audit(&who, cid).await.expect("audit").len();
    let held = store.hold_writer().await.expect("hold");
    let before = store.writer_stats();

    let racers = (0..20).map(|i| {
        let judgement = if i % 2 == 0 {
            Judgement::Lock
        } else {
            Judgement::Unlock {
                reasons: vec!["BLURRY".into()],
                note: None,
            }
        };
        store.judge_image(
            &who,
            iid,
            judgement,
            Ctx {
                now: Utc::now(),
                idempotency_key: None,
                expected_version: Some(v0),
                replay: None,
            },
        )
    });
    let release = async {
        // join! polled the racers first: all twenty are queued by now.
        tokio::task::yield_now().await;
        drop(held);
    };
    let (results, ()) = futures::join!(futures::future::join_all(racers), release);

    let after = store.writer_stats();
    // The hold's own batch, then the twenty.
    assert_eq!(after.jobs - before.jobs, 21);
    assert_eq!(after.batches - before.batches, 2, "{after:?}");
    assert_eq!(after.failed_jobs - before.failed_jobs, 19);
    let mut winners = Vec::new();
    for r in results {
        match r {
            Ok((resp, _)) => winners.push(resp),
            Err(StoreError::Stale {
                current_version, ..
            }) => assert_eq!(current_version, v0 + 1),
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one winner");
    // The first queued wins: a lock.
    let won = serde_json::to_value(&winners[0]).expect("json");
    assert_eq!(won["image"]["verdict"], "accepted");
    let trail = store.audit(&who, cid).await.expect("audit");
    assert_eq!(trail.len(), audit_before + 1, "one audit event");
    let last: Value = serde_json::to_value(trail.last()).expect("json");
    assert_eq!(last["id"], won["audit_id"]);
    store.close().await;
}
