//! Property tests over the real store: random sequences of candidate and
//! reviewer actions never break the invariants — no image is both
//! accepted and unlocked, fixed counts are never exceeded, the two review
//! levels stay consistent, and the audit log replays to the current state.

use chrono::Utc;
use proptest::prelude::*;
use serde_json::Value;
use shenhe::domain::category::MaterialCategory;
use shenhe::domain::imaging::DecodeLimits;
use shenhe::domain::quality;
use shenhe::domain::review::{self, Decision, Level, ReviewStatus, Reviews};
use shenhe::domain::rules::ReviewWindow;
use shenhe::server::seed::{self, DISTRICT};
use shenhe::server::store::{
    AnyStore, Ctx, DbTarget, DecisionInput, Judgement, NewUpload, ReviewerInfo, Store, StoreError,
};

#[derive(Debug, Clone)]
enum Action {
    Submit,
    Upload {
        cat: usize,
        slot: Option<u8>,
        pic: usize,
    },
    Delete {
        img: usize,
    },
    Lock {
        img: usize,
        district: bool,
    },
    Unlock {
        img: usize,
        district: bool,
    },
    Decide {
        district: bool,
        decision: Decision,
    },
    UndoLast {
        back: usize,
    },
}

fn action() -> impl Strategy<Value = Action> {
    let decision = prop_oneof![
        Just(Decision::Pass),
        Just(Decision::Pending),
        Just(Decision::Reject),
        Just(Decision::Return),
    ];
    prop_oneof![
        2 => Just(Action::Submit),
        3 => (0..3usize, prop::option::of(0..3u8), 0..3usize)
            .prop_map(|(cat, slot, pic)| Action::Upload { cat, slot, pic }),
        1 => (0..8usize).prop_map(|img| Action::Delete { img }),
        4 => (0..8usize, any::<bool>()).prop_map(|(img, district)| Action::Lock { img, district }),
        3 => (0..8usize, any::<bool>()).prop_map(|(img, district)| Action::Unlock { img, district }),
        3 => (any::<bool>(), decision).prop_map(|(district, decision)| Action::Decide { district, decision }),
        1 => (0..4usize).prop_map(|back| Action::UndoLast { back }),
    ]
}

fn pics() -> &'static [Vec<u8>] {
    static PICS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    PICS.get_or_init(|| {
        (0..3u8)
            .map(|i| {
                let img = image::RgbImage::from_fn(160, 120, |x, y| {
                    image::Rgb([(x as u8).wrapping_mul(i + 1), y as u8, 100 + i * 40])
                });
                let mut out = Vec::new();
                img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
                    .expect("png");
                out
            })
            .collect()
    })
}

const CATS: [MaterialCategory; 3] = [
    MaterialCategory::IdProof,
    MaterialCategory::Diploma,
    MaterialCategory::Other,
];

fn reviewer(district: bool, site: &str) -> ReviewerInfo {
    if district {
        ReviewerInfo {
            id: 3,
            username: "jiangsu".into(),
            display_name: "张审核".into(),
            level: Level::District,
            district: DISTRICT.into(),
            site: None,
        }
    } else {
        let username = if site == seed::SITE_NANJING {
            "nanjing"
        } else {
            "suzhou"
        };
        ReviewerInfo {
            id: if username == "nanjing" { 1 } else { 2 },
            username: username.into(),
            display_name: "审核".into(),
            level: Level::Site,
            district: DISTRICT.into(),
            site: Some(site.into()),
        }
    }
}

fn ctx() -> Ctx {
    Ctx {
        now: Utc::now(),
        idempotency_key: None,
        expected_version: None,
        replay: None,
    }
}

/// Refusals by the rules are expected; storage failures are not.
fn tolerate<T>(r: Result<T, StoreError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e @ (StoreError::Db(_) | StoreError::Corrupt(_))) => panic!("store failure: {e}"),
        Err(_) => None,
    }
}

fn all_images(d: &Value) -> Vec<Value> {
    d["materials"]
        .as_array()
        .expect("materials")
        .iter()
        .flat_map(|m| m["images"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn state(v: &Value) -> ReviewStatus {
    serde_json::from_value(v.clone()).expect("review state")
}

async fn check(store: &dyn Store, who: &ReviewerInfo, cid: i64) {
    let d = serde_json::to_value(
        store
            .candidate_detail(who, cid, Utc::now())
            .await
            .expect("detail"),
    )
    .expect("json");
    // No image accepted and unlocked; fixed counts and slots respected.
    for m in d["materials"].as_array().expect("materials") {
        let cat: MaterialCategory = serde_json::from_value(m["category"].clone()).expect("cat");
        let imgs = m["images"].as_array().expect("images");
        assert!(
            imgs.len() <= usize::from(cat.capacity()),
            "{cat}: {}",
            imgs.len()
        );
        let mut slots: Vec<u64> = imgs
            .iter()
            .map(|i| i["slot"].as_u64().expect("slot"))
            .collect();
        assert!(slots.iter().all(|s| *s < u64::from(cat.capacity())));
        slots.dedup();
        assert_eq!(slots.len(), imgs.len(), "duplicate slots in {cat}");
        for i in imgs {
            assert!(
                !(i["verdict"] == "accepted" && i["lock"] == "unlocked"),
                "{i}"
            );
        }
    }
    let current = Reviews {
        site: state(&d["site_review"]["state"]),
        district: state(&d["district_review"]["state"]),
    };
    assert!(review::consistent(current), "{current:?}");

    // Replay: the review events chain before→after and end at the current state.
    let events = store.audit(who, cid).await.expect("audit");
    let mut at: Option<Reviews> = None;
    for e in events.iter().filter(|e| {
        e.action == "candidate.submit"
            || e.action == "candidate.decision"
            || (e.action == "undo" && e.target.starts_with("candidate:"))
    }) {
        let before = Reviews {
            site: state(&e.before["site"]["state"]),
            district: state(&e.before["district"]["state"]),
        };
        let after = Reviews {
            site: state(&e.after["site"]["state"]),
            district: state(&e.after["district"]["state"]),
        };
        if let Some(prev) = at {
            assert_eq!(
                prev, before,
                "event {} does not start where the last ended",
                e.id
            );
        }
        at = Some(after);
    }
    if let Some(last) = at {
        assert_eq!(
            last, current,
            "the audit log does not replay to the current state"
        );
    }
}

async fn run(pick: usize, actions: Vec<Action>) {
    let dir = tempfile::tempdir().expect("dir");
    // The same properties on either engine (SHENHE_TEST_PG: PostgreSQL).
    let pg = match crate::common::test_pg() {
        Some(admin) => Some(crate::common::PgDatabase::create(&admin).await),
        None => None,
    };
    let target = match &pg {
        Some(p) => DbTarget::Postgres(p.url.clone()),
        None => DbTarget::Sqlite(dir.path().join("p.db")),
    };
    let any = AnyStore::open(&target, shenhe::domain::undo_window::DEFAULT)
        .await
        .expect("open");
    let blobs = shenhe::server::blobs::Blobs::local(&dir.path().join("blobs")).expect("blobs");
    seed::seed_demo(&any, &blobs, 12, Utc::now())
        .await
        .expect("seed");
    let store = any.as_dyn();
    let store = store.as_ref();
    let window = ReviewWindow::around(chrono::Local::now().date_naive());
    let cid = (pick % 12) as i64 + 1;
    let district = reviewer(true, "");
    let d = store
        .candidate_detail(&district, cid, Utc::now())
        .await
        .expect("detail");
    let site = reviewer(false, &d.site);
    check(store, &district, cid).await;

    for a in actions {
        let d = serde_json::to_value(
            store
                .candidate_detail(&district, cid, Utc::now())
                .await
                .expect("detail"),
        )
        .expect("json");
        let imgs = all_images(&d);
        let img_id = |i: usize| {
            imgs.get(i % imgs.len().max(1))
                .and_then(|v| v["id"].as_i64())
        };
        match a {
            Action::Submit => {
                tolerate(store.submit(cid, &window, ctx()).await);
            }
            Action::Upload { cat, slot, pic } => {
                let bytes = pics()[pic].clone();
                let report = quality::analyze(&bytes, DecodeLimits::DEFAULT).expect("analyze");
                let sha256 = format!("{:064x}", pic + 1);
                tolerate(
                    store
                        .upload(
                            cid,
                            NewUpload {
                                category: CATS[cat],
                                slot,
                                bytes,
                                sha256,
                                report,
                            },
                            &window,
                            ctx(),
                        )
                        .await,
                );
            }
            Action::Delete { img } => {
                if let Some(id) = img_id(img) {
                    tolerate(store.delete_image(cid, id, &window, ctx()).await);
                }
            }
            Action::Lock { img, district: dis } | Action::Unlock { img, district: dis } => {
                let who = if dis { &district } else { &site };
                let j = if matches!(a, Action::Lock { .. }) {
                    Judgement::Lock
                } else {
                    Judgement::Unlock {
                        reasons: vec!["BLURRY".into()],
                        note: None,
                    }
                };
                if let Some(id) = img_id(img) {
                    tolerate(store.judge_image(who, id, j, ctx()).await);
                }
            }
            Action::Decide {
                district: dis,
                decision,
            } => {
                let who = if dis { &district } else { &site };
                let reasons = if decision == Decision::Pass {
                    vec![]
                } else {
                    vec!["ONSITE".to_string()]
                };
                tolerate(
                    store
                        .decide(
                            who,
                            cid,
                            DecisionInput {
                                level: who.level,
                                decision,
                                reasons,
                                note: None,
                            },
                            ctx(),
                        )
                        .await,
                );
            }
            Action::UndoLast { back } => {
                let events = store.audit(&district, cid).await.expect("audit");
                if let Some(e) = events.iter().rev().nth(back) {
                    // Try both levels; the store refuses the wrong one.
                    if tolerate(store.undo(&site, e.id, ctx()).await).is_none() {
                        tolerate(store.undo(&district, e.id, ctx()).await);
                    }
                }
            }
        }
        check(store, &district, cid).await;
    }
    any.close().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_action_sequences_keep_the_invariants(
        pick in 0..12usize,
        actions in prop::collection::vec(action(), 1..30),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        rt.block_on(run(pick, actions));
    }
}
