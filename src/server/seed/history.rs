//! One candidate's story: who they are (drawn from `people.rs`), which
//! materials they upload (from `documents.rs`), and the review history the
//! plan for them dictates (submission, image locks and unlocks, decisions
//! at both levels, feedback), each step with the audit event and system
//! message the live server would have written. `build_candidate` stays one
//! long function: its steps share the candidate's running version and
//! clock, and cutting it up would be a rewrite, not a move.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::Rng;
use rand::rngs::StdRng;

use super::documents::Asset;
use super::people::{
    EDUCATION, EXAM_CATEGORIES, MAJORS, NANJING_HOSPITALS, NANJING_REGIONS, SCHOOLS,
    SUZHOU_HOSPITALS, SUZHOU_REGIONS, chinese_name, id_number, pick, weighted,
};
use super::writer::{AuditSeed, Batch, CandidateSeed, ImageSeed};
use super::{SITE_NANJING, SITE_SUZHOU, to_json};
use crate::domain::audit::AuditAction;
use crate::domain::category::MaterialCategory;
use crate::domain::image::ImagePhase;
use crate::domain::quality;
use crate::domain::review::{Level, ReviewStatus};
use crate::server::messages;
use crate::server::store::sqlite::{DupRef, ImageSnap, LevelSnap, ReviewSnap};

/// The states the demo spreads candidates over, with weights (percent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    NotStarted,
    SiteAwaiting,
    SiteAwaitingStarted,
    SitePending,
    SiteRejected,
    DistrictAwaiting,
    DistrictPending,
    DistrictPassed,
    DistrictRejected,
    Returned,
}

const PLANS: &[(Plan, u32)] = &[
    (Plan::NotStarted, 8),
    (Plan::SiteAwaiting, 28),
    (Plan::SiteAwaitingStarted, 6),
    (Plan::SitePending, 10),
    (Plan::SiteRejected, 2),
    (Plan::DistrictAwaiting, 20),
    (Plan::DistrictPending, 4),
    (Plan::DistrictPassed, 18),
    (Plan::DistrictRejected, 1),
    (Plan::Returned, 3),
];

fn plan(rng: &mut StdRng) -> Plan {
    let mut r = rng.random_range(0..100);
    for (p, w) in PLANS {
        if r < *w {
            return *p;
        }
        r -= w;
    }
    Plan::SiteAwaiting
}

fn level_snap(state: ReviewStatus) -> LevelSnap {
    LevelSnap::fresh(state)
}

fn decided(
    state: ReviewStatus,
    reasons: &[&str],
    reviewer: &str,
    at: i64,
    note: Option<&str>,
) -> LevelSnap {
    LevelSnap {
        state,
        reasons: reasons.iter().map(|s| s.to_string()).collect(),
        note: note.map(str::to_string),
        reviewer: Some(reviewer.to_string()),
        decided_at: Some(at),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn build_candidate(
    rng: &mut StdRng,
    b: &mut Batch,
    id: i64,
    year: &str,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    assets: &[Asset],
    pools: &HashMap<(MaterialCategory, Option<u8>, bool), Vec<usize>>,
    image_id: &mut i64,
    first_use: &mut HashMap<String, (i64, i64)>,
) {
    let nanjing = rng.random_bool(0.55);
    let (site, site_code, regions, hospitals, reviewer) = if nanjing {
        (
            SITE_NANJING,
            "01",
            NANJING_REGIONS,
            NANJING_HOSPITALS,
            "nanjing",
        )
    } else {
        (
            SITE_SUZHOU,
            "05",
            SUZHOU_REGIONS,
            SUZHOU_HOSPITALS,
            "suzhou",
        )
    };
    let name = if id == 3 {
        "欧阳娜娜".to_string()
    } else {
        chinese_name(rng)
    };
    let male = rng.random_bool(0.45);
    let birth = NaiveDate::from_ymd_opt(1975, 1, 1)
        .unwrap_or_default()
        .checked_add_days(chrono::Days::new(rng.random_range(0..26 * 365)))
        .unwrap_or_default();
    let region = pick(rng, regions);
    let idn = id_number(rng, region, birth, male);
    let exam = weighted(rng, EXAM_CATEGORIES).to_string();
    let assistant_level = exam.contains("助理");
    let education = weighted(rng, EDUCATION).to_string();
    let school = pick(rng, SCHOOLS).to_string();
    let major = if exam.starts_with("中医") {
        "中医学".to_string()
    } else if exam.starts_with("口腔") {
        "口腔医学".to_string()
    } else if exam.starts_with("公共卫生") {
        "预防医学".to_string()
    } else {
        pick(rng, MAJORS).to_string()
    };
    let fresh_graduate = rng.random_bool(0.2);
    let grad_year = if fresh_graduate {
        now.format("%Y").to_string().parse::<i32>().unwrap_or(2027)
    } else {
        rng.random_range(1998..2025)
    };
    let graduation = NaiveDate::from_ymd_opt(grad_year, 6, 30).map(|d| d.to_string());
    let trial = (!fresh_graduate).then(|| pick(rng, hospitals).to_string());
    let phone = format!(
        "1{}{}{:08}",
        pick(rng, &["3", "5", "7", "8", "9"]),
        rng.random_range(0..10),
        rng.random_range(0..100_000_000u32)
    );
    let created = start + Duration::seconds(rng.random_range(0..20 * 86_400));
    let submitted = created + Duration::seconds(rng.random_range(600..5 * 86_400));
    let submitted = submitted.min(now - Duration::minutes(5));
    let decided_at = submitted + Duration::seconds(rng.random_range(600..3 * 86_400));
    let decided_at = decided_at
        .min(now - Duration::minutes(2))
        .timestamp_millis();
    let district_at = decided_at + rng.random_range(60_000..86_400_000);
    let district_at = district_at.min((now - Duration::minutes(1)).timestamp_millis());
    let p = plan(rng);
    let reg_no = format!("{year}{site_code}{id:07}");

    // Materials: which categories this candidate uploads.
    let mut cats: Vec<(MaterialCategory, Option<u8>)> = vec![
        (MaterialCategory::IdProof, Some(0)),
        (MaterialCategory::IdProof, Some(1)),
        (MaterialCategory::Diploma, None),
        (MaterialCategory::DegreeRecord, None),
    ];
    if !fresh_graduate {
        cats.push((MaterialCategory::TrialAssessment, None));
    } else {
        cats.push((MaterialCategory::GraduatePledge, None));
    }
    if !assistant_level && rng.random_bool(0.3) {
        cats.push((MaterialCategory::AssistantCert, None));
        cats.push((MaterialCategory::PracticeLicense, None));
    }
    if exam.starts_with("乡村") && rng.random_bool(0.5) {
        cats.push((MaterialCategory::InstitutionLicense, None));
    }
    if rng.random_bool(0.1) {
        cats.push((MaterialCategory::Other, None));
    }
    // NotStarted candidates may not have finished uploading.
    if p == Plan::NotStarted {
        let keep = rng.random_range(1..=cats.len());
        cats.truncate(keep);
    }
    // About one candidate in seven has a flawed image somewhere; pending
    // ones always do (it is why they are pending).
    let wants_flaw =
        matches!(p, Plan::SitePending | Plan::DistrictPending) || rng.random_bool(0.14);
    let flaw_at = if wants_flaw {
        let candidates: Vec<usize> = cats
            .iter()
            .enumerate()
            .filter(|(_, (c, s))| pools.get(&(*c, *s, true)).is_some_and(|v| !v.is_empty()))
            .map(|(i, _)| i)
            .collect();
        (!candidates.is_empty()).then(|| candidates[rng.random_range(0..candidates.len())])
    } else {
        None
    };

    let mut slots_used: HashMap<MaterialCategory, i64> = HashMap::new();
    let mut imgs: Vec<ImageSeed> = Vec::new();
    let mut flawed_image: Option<usize> = None;
    for (i, (cat, slot)) in cats.iter().enumerate() {
        let flawed = flaw_at == Some(i);
        let pool = pools
            .get(&(*cat, *slot, flawed))
            .filter(|v| !v.is_empty())
            .or_else(|| pools.get(&(*cat, *slot, false)).filter(|v| !v.is_empty()));
        let Some(pool) = pool else { continue };
        let asset = pick(rng, pool);
        let s = slot.map_or_else(
            || {
                let e = slots_used.entry(*cat).or_insert(0);
                let v = *e;
                *e += 1;
                v
            },
            i64::from,
        );
        *image_id += 1;
        let mut near = Vec::new();
        let a = &assets[asset];
        if let Some(orig) = &a.a.near_duplicate_of
            && let Some((img, cand)) = first_use.get(orig)
            && *cand != id
        {
            let d = assets
                .iter()
                .find(|x| &x.a.name == orig)
                .map_or(0, |o| quality::hamming(o.report.phash, a.report.phash));
            near.push(DupRef {
                image_id: *img,
                distance: d,
            });
        }
        first_use.entry(a.a.name.clone()).or_insert((*image_id, id));
        if flawed && a.a.flawed {
            flawed_image = Some(imgs.len());
        }
        imgs.push(ImageSeed {
            id: *image_id,
            candidate_id: id,
            category: cat.code(),
            slot: s,
            asset,
            uploaded_at: (created + Duration::seconds(rng.random_range(0..600))).timestamp_millis(),
            version: 1,
            phase: ImagePhase::Draft,
            reasons: Vec::new(),
            note: None,
            near_dup_of: near,
        });
    }

    let other_site_reviewer = reviewer;
    let sub = Some(submitted.timestamp_millis());
    let mut version = 1 + imgs.len() as i64;
    let mut audit: Vec<AuditSeed> = Vec::new();
    let mut feedback: Vec<(i64, &'static str, String, String, i64)> = Vec::new();
    let target = format!("candidate:{id}");
    let mut reviews = ReviewSnap {
        level: None,
        site: level_snap(ReviewStatus::NotStarted),
        district: level_snap(ReviewStatus::NotStarted),
    };
    let push_review = |audit: &mut Vec<AuditSeed>,
                       reviews: &mut ReviewSnap,
                       next: ReviewSnap,
                       actor: &str,
                       action: AuditAction,
                       at: i64| {
        let before = ReviewSnap {
            level: next.level,
            ..reviews.clone()
        };
        let reasons = match next.level {
            Some(Level::District) => next.district.reasons.clone(),
            Some(Level::Site) => next.site.reasons.clone(),
            None => Vec::new(),
        };
        audit.push(AuditSeed {
            at,
            actor: actor.to_string(),
            action,
            target: target.clone(),
            candidate_id: id,
            before: to_json(&before),
            after: to_json(&next),
            reasons,
        });
        *reviews = next;
    };

    if p != Plan::NotStarted {
        for im in &mut imgs {
            im.phase = ImagePhase::Submitted;
        }
        let next = ReviewSnap {
            level: None,
            site: level_snap(ReviewStatus::AwaitingReview),
            district: level_snap(ReviewStatus::NotStarted),
        };
        version += 1;
        push_review(
            &mut audit,
            &mut reviews,
            next,
            &reg_no,
            AuditAction::Submit,
            submitted.timestamp_millis(),
        );
    }

    // Reviewer image judgements: lock everything the level has looked at,
    // unlock the flawed one where the plan says pending.
    let judge_all = |imgs: &mut Vec<ImageSeed>,
                     audit: &mut Vec<AuditSeed>,
                     upto: usize,
                     level: Level,
                     actor: &str,
                     at: i64,
                     version: &mut i64| {
        for im in imgs.iter_mut().take(upto) {
            if im.phase == ImagePhase::Submitted {
                let before = ImageSnap {
                    level: Some(level),
                    phase: im.phase,
                    reasons: Vec::new(),
                    note: None,
                };
                im.phase = ImagePhase::Accepted;
                im.version += 1;
                *version += 1;
                let after = ImageSnap {
                    phase: im.phase,
                    ..before.clone()
                };
                audit.push(AuditSeed {
                    at,
                    actor: actor.to_string(),
                    action: AuditAction::ImageLock,
                    target: format!("image:{}", im.id),
                    candidate_id: im.candidate_id,
                    before: to_json(&before),
                    after: to_json(&after),
                    reasons: Vec::new(),
                });
            }
        }
    };
    let unlock = |im: &mut ImageSeed,
                  audit: &mut Vec<AuditSeed>,
                  feedback: &mut Vec<(i64, &'static str, String, String, i64)>,
                  level: Level,
                  actor: &str,
                  reason: &str,
                  at: i64,
                  version: &mut i64| {
        let before = ImageSnap {
            level: Some(level),
            phase: im.phase,
            reasons: Vec::new(),
            note: None,
        };
        im.phase = ImagePhase::ReplaceRequested {
            was_accepted: im.phase == ImagePhase::Accepted,
            replaced: false,
        };
        im.reasons = vec![reason.to_string()];
        im.version += 1;
        *version += 1;
        let after = ImageSnap {
            level: Some(level),
            phase: im.phase,
            reasons: im.reasons.clone(),
            note: None,
        };
        audit.push(AuditSeed {
            at,
            actor: actor.to_string(),
            action: AuditAction::ImageUnlock,
            target: format!("image:{}", im.id),
            candidate_id: im.candidate_id,
            before: to_json(&before),
            after: to_json(&after),
            reasons: im.reasons.clone(),
        });
        let cat = MaterialCategory::from_code(im.category).unwrap_or(MaterialCategory::Other);
        let slot = u8::try_from(im.slot).unwrap_or(0);
        feedback.push((
            im.candidate_id,
            "system",
            messages::unlocked(level, cat, slot, &im.reasons, None),
            actor.to_string(),
            at,
        ));
    };

    let n = imgs.len();
    let site_passed = |_: &ReviewSnap| ReviewSnap {
        level: Some(Level::Site),
        site: decided(
            ReviewStatus::Passed,
            &[],
            other_site_reviewer,
            decided_at,
            None,
        ),
        district: level_snap(ReviewStatus::AwaitingReview),
    };
    match p {
        Plan::NotStarted | Plan::SiteAwaiting => {}
        Plan::SiteAwaitingStarted => {
            let upto = rng.random_range(1..=n.max(1));
            judge_all(
                &mut imgs,
                &mut audit,
                upto,
                Level::Site,
                reviewer,
                decided_at,
                &mut version,
            );
        }
        Plan::SitePending => {
            judge_all(
                &mut imgs,
                &mut audit,
                n,
                Level::Site,
                reviewer,
                decided_at,
                &mut version,
            );
            let victim = flawed_image.unwrap_or(n.saturating_sub(1));
            if let Some(im) = imgs.get_mut(victim) {
                let reason = assets[im.asset].a.reason;
                unlock(
                    im,
                    &mut audit,
                    &mut feedback,
                    Level::Site,
                    reviewer,
                    reason,
                    decided_at,
                    &mut version,
                );
            }
            let next = ReviewSnap {
                level: Some(Level::Site),
                site: decided(
                    ReviewStatus::Pending,
                    &["MAT_NONCOMPLIANT"],
                    reviewer,
                    decided_at,
                    None,
                ),
                ..reviews.clone()
            };
            version += 1;
            push_review(
                &mut audit,
                &mut reviews,
                next,
                reviewer,
                AuditAction::Decision,
                decided_at,
            );
            feedback.push((
                id,
                "system",
                messages::pending(Level::Site, &["MAT_NONCOMPLIANT".into()], None),
                reviewer.to_string(),
                decided_at,
            ));
        }
        Plan::SiteRejected => {
            judge_all(
                &mut imgs,
                &mut audit,
                n,
                Level::Site,
                reviewer,
                decided_at,
                &mut version,
            );
            let note = "报考类别与学历专业不符";
            let next = ReviewSnap {
                level: Some(Level::Site),
                site: decided(
                    ReviewStatus::Rejected,
                    &["INELIGIBLE"],
                    reviewer,
                    decided_at,
                    Some(note),
                ),
                ..reviews.clone()
            };
            version += 1;
            push_review(
                &mut audit,
                &mut reviews,
                next,
                reviewer,
                AuditAction::Decision,
                decided_at,
            );
            feedback.push((
                id,
                "system",
                messages::rejected(Level::Site, &["INELIGIBLE".into()], Some(note)),
                reviewer.to_string(),
                decided_at,
            ));
        }
        Plan::DistrictAwaiting
        | Plan::DistrictPending
        | Plan::DistrictPassed
        | Plan::DistrictRejected
        | Plan::Returned => {
            judge_all(
                &mut imgs,
                &mut audit,
                n,
                Level::Site,
                reviewer,
                decided_at,
                &mut version,
            );
            let next = site_passed(&reviews);
            version += 1;
            push_review(
                &mut audit,
                &mut reviews,
                next,
                reviewer,
                AuditAction::Decision,
                decided_at,
            );
            let district_next = match p {
                Plan::DistrictPending => {
                    let victim = flawed_image.unwrap_or(n.saturating_sub(1));
                    if let Some(im) = imgs.get_mut(victim) {
                        let reason = assets[im.asset].a.reason;
                        unlock(
                            im,
                            &mut audit,
                            &mut feedback,
                            Level::District,
                            "jiangsu",
                            reason,
                            district_at,
                            &mut version,
                        );
                    }
                    feedback.push((
                        id,
                        "system",
                        messages::pending(Level::District, &["MAT_NONCOMPLIANT".into()], None),
                        "jiangsu".to_string(),
                        district_at,
                    ));
                    Some(ReviewSnap {
                        level: Some(Level::District),
                        district: decided(
                            ReviewStatus::Pending,
                            &["MAT_NONCOMPLIANT"],
                            "jiangsu",
                            district_at,
                            None,
                        ),
                        ..reviews.clone()
                    })
                }
                Plan::DistrictPassed => Some(ReviewSnap {
                    level: Some(Level::District),
                    district: decided(ReviewStatus::Passed, &[], "jiangsu", district_at, None),
                    ..reviews.clone()
                }),
                Plan::DistrictRejected => {
                    feedback.push((
                        id,
                        "system",
                        messages::rejected(Level::District, &["INELIGIBLE".into()], None),
                        "jiangsu".to_string(),
                        district_at,
                    ));
                    Some(ReviewSnap {
                        level: Some(Level::District),
                        district: decided(
                            ReviewStatus::Rejected,
                            &["INELIGIBLE"],
                            "jiangsu",
                            district_at,
                            None,
                        ),
                        ..reviews.clone()
                    })
                }
                Plan::Returned => Some(ReviewSnap {
                    level: Some(Level::District),
                    site: level_snap(ReviewStatus::AwaitingReview),
                    district: decided(
                        ReviewStatus::Returned,
                        &["ONSITE"],
                        "jiangsu",
                        district_at,
                        Some("请考点核对试用期考核证明原件"),
                    ),
                }),
                _ => None,
            };
            if let Some(next) = district_next {
                version += 1;
                push_review(
                    &mut audit,
                    &mut reviews,
                    next,
                    "jiangsu",
                    AuditAction::Decision,
                    district_at,
                );
            }
        }
    }

    // A few have been phoned or texted about their materials.
    if p != Plan::NotStarted && rng.random_bool(0.04) {
        let (channel, body) = if rng.random_bool(0.5) {
            ("sms", "已短信通知考生按要求重新上传相关材料。")
        } else {
            ("phone", "已电话联系考生，考生表示将尽快补充材料。")
        };
        feedback.push((
            id,
            channel,
            body.to_string(),
            reviewer.to_string(),
            decided_at,
        ));
        audit.push(AuditSeed {
            at: decided_at,
            actor: reviewer.to_string(),
            action: AuditAction::Feedback,
            target: format!("candidate:{id}"),
            candidate_id: id,
            before: "null".into(),
            after: format!("{{\"channel\":\"{channel}\"}}"),
            reasons: Vec::new(),
        });
    }

    let last = audit
        .iter()
        .map(|a| a.at)
        .max()
        .unwrap_or(created.timestamp_millis());
    b.candidates.push(CandidateSeed {
        id,
        reg_no,
        name,
        id_number: idn,
        gender: if male { "男" } else { "女" },
        birth_date: birth.to_string(),
        exam_category: exam,
        site,
        education,
        school,
        major,
        graduation_date: graduation,
        trial_institution: trial,
        phone,
        created_at: created.timestamp_millis(),
        submitted_at: if p == Plan::NotStarted { None } else { sub },
        sort_at: if p == Plan::NotStarted {
            created.timestamp_millis()
        } else {
            submitted.timestamp_millis()
        },
        updated_at: last,
        version,
        reviews,
    });
    b.images.extend(imgs);
    b.feedback.extend(feedback);
    b.audit.extend(audit);
}
