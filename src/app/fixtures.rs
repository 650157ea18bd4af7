//! Ready-made DTOs and states for tests and snapshots (no server needed).
#![doc(hidden)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use crate::api::dto::*;
use crate::domain::audit::FeedbackChannel;
use crate::domain::category::MaterialCategory;
use crate::domain::image::{Lock, Verdict};
use crate::domain::review::{Level, ReviewStatus};
use crate::lang::Lang;

use super::keys::Keymap;
use super::state::{Session, State};

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 9, 2, 0, 0)
        .single()
        .unwrap_or_default()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

pub fn reviewer() -> ReviewerDto {
    ReviewerDto {
        username: "nanjing".into(),
        display_name: "王审核".into(),
        level: Level::Site,
        district: "江苏考区".into(),
        site: Some("南京考点".into()),
    }
}

pub fn window() -> WindowDto {
    WindowDto {
        opens: date(2027, 2, 14),
        closes: date(2027, 3, 20),
        open: true,
        days_left: 12,
    }
}

pub fn session() -> SessionResponse {
    SessionResponse {
        token: "tok".into(),
        expires_at: now() + chrono::Duration::hours(8),
        reviewer: reviewer(),
        window: window(),
        undo_window_secs: 120,
    }
}

pub fn summary(id: i64, name: &str, category: &str, hours_ago: i64) -> CandidateSummary {
    CandidateSummary {
        id,
        reg_no: format!("27320100{id:05}"),
        name: name.into(),
        exam_category: category.into(),
        site: "南京考点".into(),
        state: ReviewStatus::AwaitingReview,
        site_review: ReviewStatus::AwaitingReview,
        district_review: ReviewStatus::NotStarted,
        submitted_at: Some(now() - chrono::Duration::hours(hours_ago + 1)),
        updated_at: now() - chrono::Duration::hours(hours_ago),
        version: 3,
        claim: None,
        images: 4,
        flagged: 0,
    }
}

pub fn list() -> CandidateList {
    let mut b = summary(2, "李四", "中医执业助理医师", 5);
    b.claim = Some(ClaimDto {
        reviewer: "王五".into(),
        expires_at: now() + chrono::Duration::minutes(3),
        mine: false,
    });
    b.flagged = 1;
    CandidateList {
        items: vec![
            summary(1, "张三", "临床执业医师", 2),
            b,
            summary(3, "欧阳娜娜", "口腔执业医师", 26),
            summary(4, "司马相如", "公共卫生执业医师", 49),
            summary(5, "Zhang Wei", "临床执业助理医师", 1),
        ],
        next_cursor: Some("c2".into()),
        counts: Counts {
            awaiting_review: 1204,
            pending: 87,
            passed: 3412,
            rejected: 5,
            returned: 0,
            not_started: 40,
        },
    }
}

pub fn image(
    id: i64,
    category: MaterialCategory,
    slot: u8,
    verdict: Verdict,
    reasons: &[&str],
) -> ImageDto {
    ImageDto {
        id,
        candidate_id: 1,
        category,
        slot,
        slot_label: category
            .slot_labels()
            .get(usize::from(slot))
            .map(|l| l.0.to_string()),
        generation: 1,
        format: "jpeg".into(),
        bytes: 190_000,
        width: 1600,
        height: 1000,
        sha256: format!("{id:064x}"),
        uploaded_at: now() - chrono::Duration::days(3),
        version: 2,
        lock: if verdict == Verdict::ReplaceRequested {
            Lock::Unlocked
        } else {
            Lock::Locked
        },
        verdict,
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
        note: None,
        replaced: false,
        hints: HintsDto {
            orientation: 1,
            blur_score: 0.8,
            ..HintsDto::default()
        },
    }
}

fn material(category: MaterialCategory, images: Vec<ImageDto>) -> MaterialDto {
    MaterialDto {
        category,
        name_zh: category.name_zh().into(),
        name_en: category.name_en().into(),
        fixed_count: category.fixed_count(),
        images,
    }
}

fn review(state: ReviewStatus) -> ReviewDto {
    ReviewDto {
        state,
        reasons: vec![],
        note: None,
        reviewer: None,
        decided_at: None,
    }
}

/// 张三: ID front accepted, back unreviewed, diploma unreviewed, trial
/// assessment unlocked as blurry (it carries the blur hint too).
pub fn detail() -> CandidateDetail {
    use MaterialCategory as M;
    let mut trial = image(
        13,
        M::TrialAssessment,
        0,
        Verdict::ReplaceRequested,
        &["BLURRY"],
    );
    trial.hints.blurry = true;
    trial.hints.blur_score = 0.1;
    let mut back = image(11, M::IdProof, 1, Verdict::Unreviewed, &[]);
    back.bytes = 186 * 1024;
    CandidateDetail {
        id: 1,
        reg_no: "2732010000001".into(),
        name: "张三".into(),
        id_type: "居民身份证".into(),
        id_number: "3201**********1234".into(),
        id_revealed: false,
        gender: "男".into(),
        birth_date: date(1996, 5, 1),
        exam_category: "临床执业医师".into(),
        district: "江苏考区".into(),
        site: "南京考点".into(),
        education: "本科".into(),
        school: "南京医科大学".into(),
        major: "临床医学".into(),
        graduation_date: Some(date(2025, 6, 30)),
        trial_institution: Some("南京市第一医院".into()),
        phone: "138****5678".into(),
        submitted_at: Some(now() - chrono::Duration::days(2)),
        updated_at: now() - chrono::Duration::hours(2),
        version: 7,
        site_review: review(ReviewStatus::AwaitingReview),
        district_review: review(ReviewStatus::NotStarted),
        claim: None,
        materials: vec![
            material(
                M::IdProof,
                vec![image(10, M::IdProof, 0, Verdict::Accepted, &[]), back],
            ),
            material(M::Diploma, vec![]),
            material(
                M::DegreeRecord,
                vec![image(12, M::DegreeRecord, 0, Verdict::Unreviewed, &[])],
            ),
            material(M::TrialAssessment, vec![trial]),
        ],
        feedback: vec![FeedbackDto {
            id: 1,
            channel: FeedbackChannel::Phone,
            body: "已电话通知考生更换试用期考核证明".into(),
            author: "nanjing".into(),
            created_at: now() - chrono::Duration::hours(20),
        }],
    }
}

/// A clean candidate: four unreviewed images, nothing wrong.
pub fn clean_detail(id: i64) -> CandidateDetail {
    use MaterialCategory as M;
    let mut d = detail();
    d.id = id;
    d.materials = vec![
        material(
            M::IdProof,
            vec![
                image(id * 100, M::IdProof, 0, Verdict::Unreviewed, &[]),
                image(id * 100 + 1, M::IdProof, 1, Verdict::Unreviewed, &[]),
            ],
        ),
        material(
            M::Diploma,
            vec![image(id * 100 + 2, M::Diploma, 0, Verdict::Unreviewed, &[])],
        ),
        material(
            M::DegreeRecord,
            vec![image(
                id * 100 + 3,
                M::DegreeRecord,
                0,
                Verdict::Unreviewed,
                &[],
            )],
        ),
    ];
    d
}

/// A logged-in state with the queue loaded (no candidate open).
pub fn state(lang: Lang, w: u16, h: u16) -> State {
    let (cfg, _) = crate::config::from_str("", "x");
    let keymap: Keymap = cfg.keymap;
    let mut s = State::new(lang, keymap, "http://127.0.0.1:8080".into(), now());
    s.size = (w, h);
    let sess = session();
    s.session = Some(Session {
        reviewer: sess.reviewer,
        window: sess.window,
        expires_at: sess.expires_at,
        undo_secs: sess.undo_window_secs,
    });
    s.screen = super::state::Screen::Queue;
    s.conn = super::state::Conn::Connected;
    s.live.connected(now());
    let l = list();
    s.queue.rows = l.items;
    s.queue.counts = l.counts;
    s.queue.next_cursor = l.next_cursor;
    s.queue.loaded = true;
    s
}
