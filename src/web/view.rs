//! What the materials page shows, worked out from the store's view of the
//! candidate ([`CandidateSelf`]) and the two review levels: the state
//! lines, the final result (only once the review is over), the feedback
//! that currently stands, and the slots of every category.
//!
//! Pure: no I/O, so the rules of the page are tested without a browser.

use chrono::{DateTime, Utc};

use crate::api::dto::{CandidateImageDto, CandidateMaterialDto, CandidateSelf, FeedbackDto};
use crate::domain::audit::FeedbackChannel;
use crate::domain::category::MaterialCategory;
use crate::domain::image::{Lock, Verdict};
use crate::domain::reason::reason;
use crate::domain::review::{Level, ReviewStatus, Reviews};
use crate::domain::text::clean;
use crate::server::messages;

/// A free-count category holds slots 0–9 (the upload form's one digit).
pub const MAX_FREE_SLOTS: u8 = 10;

/// One reason or note that stands now, newest first on the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackItem {
    pub at: Option<DateTime<Utc>>,
    /// "考点" / "考区" when known.
    pub level: Option<&'static str>,
    /// What the item is about: 审核待定, 【身份证明·正面】 …
    pub title: String,
    /// Reasons in the registration system's words, numbered on the page.
    pub reasons: Vec<String>,
    /// The reviewer's note, sanitised.
    pub note: Option<String>,
    /// The image it concerns: (anchor id, image id).
    pub image: Option<i64>,
    /// The candidate has uploaded a new image since (not yet resubmitted).
    pub replaced: bool,
}

/// The outcome, shown only once the review is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalResult {
    pub passed: bool,
    pub text: &'static str,
}

/// A place for one image in a category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub category: MaterialCategory,
    pub slot: u8,
    /// "正面", "第2张" …
    pub label: String,
    pub image: Option<CandidateImageDto>,
    /// The candidate may upload here now (empty, or an unlocked image).
    pub can_upload: bool,
    /// The candidate may delete the image here now.
    pub can_delete: bool,
    /// The empty slot after the images of a free-count category.
    pub is_more: bool,
}

impl Slot {
    /// The accessible name of the slot's file input: "身份证明 正面".
    pub fn input_label(&self) -> String {
        format!("{} {}", self.category.name_zh(), self.label)
    }

    pub fn dom_id(&self) -> String {
        format!("{}-{}", self.category.code(), self.slot)
    }
}

/// The seed's words for the candidate-level reasons (审核待定原因), where
/// they differ from the console's shorter presets.
pub fn candidate_reason_zh(code: &str) -> String {
    match code {
        "MAT_NONCOMPLIANT" => "上传材料内容不符合报名要求或模糊不清".into(),
        "INFO_WRONG" => "填报内容不符合报名要求或填报错误".into(),
        other => image_reason_zh(other),
    }
}

pub fn image_reason_zh(code: &str) -> String {
    reason(code).map_or_else(
        || clean(code),
        |r| r.zh.trim_end_matches("（须说明）").to_string(),
    )
}

fn level_zh(level: Level) -> &'static str {
    match level {
        Level::Site => "考点",
        Level::District => "考区",
    }
}

/// "考点审核：待审核" and "考区审核：未开始", in the words candidates know.
pub fn state_lines(r: Reviews) -> [(&'static str, &'static str); 2] {
    let site = match r.site {
        ReviewStatus::NotStarted => "未提交（上传完成后请提交审核）",
        ReviewStatus::AwaitingReview => "审核中",
        ReviewStatus::Passed => "已通过，转考区审核",
        ReviewStatus::Pending => "审核待定",
        ReviewStatus::Rejected => "审核不通过",
        ReviewStatus::Returned => "审核中",
    };
    let district = match r.district {
        ReviewStatus::NotStarted => "未开始",
        ReviewStatus::AwaitingReview => "审核中",
        // The district's pass is the final result, shown as such.
        ReviewStatus::Passed => "审核结束",
        ReviewStatus::Pending => "审核待定",
        ReviewStatus::Rejected => "审核结束",
        ReviewStatus::Returned => "退回考点复核",
    };
    [("考点审核", site), ("考区审核", district)]
}

/// The seed's rule: the final result only once the district's review has
/// concluded. A site's rejection is final too (nothing follows it).
pub fn final_result(r: Reviews) -> Option<FinalResult> {
    match (r.site, r.district) {
        (_, ReviewStatus::Passed) => Some(FinalResult {
            passed: true,
            text: "审核通过",
        }),
        (_, ReviewStatus::Rejected) | (ReviewStatus::Rejected, _) => Some(FinalResult {
            passed: false,
            text: "审核不通过",
        }),
        _ => None,
    }
}

/// The newest system message of `level` that equals `want`.
fn newest_exact(feedback: &[FeedbackDto], want: &str) -> Option<DateTime<Utc>> {
    feedback
        .iter()
        .filter(|f| f.channel == FeedbackChannel::System && f.body == want)
        .map(|f| f.created_at)
        .max()
}

/// The note inside a decision message: `messages::pending`/`rejected` write
/// "…原因：R（note）。tail", and the same function without a note gives
/// "…原因：R。tail", so the note is exactly what lies between.
fn decision_note(body: &str, without_note: &str, tail: &str) -> Option<Option<String>> {
    let head = without_note.strip_suffix(tail)?;
    let rest = body.strip_suffix(tail)?.strip_prefix(head)?;
    if rest.is_empty() {
        return Some(None);
    }
    let note = rest.strip_prefix('（')?.strip_suffix('）')?;
    Some(Some(note.to_string()))
}

const PENDING_TAIL: &str = "。请按要求修改或上传相关材料，并在审核期内重新提交。";
const REJECTED_TAIL: &str = "。";

/// The candidate-level decision that stands (审核待定 or 审核不通过).
fn decision_item(me: &CandidateSelf, r: Reviews) -> Option<FeedbackItem> {
    let (level, pending) = match (r.site, r.district) {
        (ReviewStatus::Pending, _) => (Level::Site, true),
        (ReviewStatus::Rejected, _) => (Level::Site, false),
        (_, ReviewStatus::Pending) => (Level::District, true),
        (_, ReviewStatus::Rejected) => (Level::District, false),
        _ => return None,
    };
    let (without, tail) = if pending {
        (messages::pending(level, &me.reasons, None), PENDING_TAIL)
    } else {
        (messages::rejected(level, &me.reasons, None), REJECTED_TAIL)
    };
    // The newest message of that decision carries its time and its note.
    let found = me
        .feedback
        .iter()
        .filter(|f| f.channel == FeedbackChannel::System)
        .filter_map(|f| decision_note(&f.body, &without, tail).map(|n| (f.created_at, n)))
        .max_by_key(|(at, _)| *at);
    let (at, note) = match found {
        Some((at, note)) => (Some(at), note),
        None => (None, None),
    };
    Some(FeedbackItem {
        at,
        level: Some(level_zh(level)),
        title: if pending {
            "审核待定"
        } else {
            "审核不通过"
        }
        .into(),
        reasons: me.reasons.iter().map(|c| candidate_reason_zh(c)).collect(),
        note: note.map(|n| clean(&n)),
        image: None,
        replaced: false,
    })
}

fn image_item(img: &CandidateImageDto, feedback: &[FeedbackDto]) -> FeedbackItem {
    // Which level asked is told by the message it left.
    let found = [Level::District, Level::Site]
        .into_iter()
        .find_map(|level| {
            let want = messages::unlocked(
                level,
                img.category,
                img.slot,
                &img.reasons,
                img.note.as_deref(),
            );
            newest_exact(feedback, &want).map(|at| (level, at))
        });
    FeedbackItem {
        at: found.map(|(_, at)| at),
        level: found.map(|(l, _)| level_zh(l)),
        title: messages::material_label(img.category, img.slot),
        reasons: img.reasons.iter().map(|c| image_reason_zh(c)).collect(),
        note: img.note.as_deref().map(clean),
        image: Some(img.id),
        replaced: found.is_some_and(|(_, at)| img.uploaded_at > at),
    }
}

/// Every reason and note that stands now, newest first (unknown times last).
pub fn standing_feedback(me: &CandidateSelf, r: Reviews) -> Vec<FeedbackItem> {
    let mut items: Vec<FeedbackItem> = decision_item(me, r).into_iter().collect();
    for m in &me.materials {
        for img in &m.images {
            if img.lock == Lock::Unlocked && img.verdict == Verdict::ReplaceRequested {
                items.push(image_item(img, &me.feedback));
            }
        }
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.at));
    items
}

/// The slots of one category: fixed ones exactly (身份证明: 正面, 反面);
/// free ones every image plus one empty slot to 继续上传 while editable.
pub fn slots(m: &CandidateMaterialDto, editable: bool) -> Vec<Slot> {
    let cat = m.category;
    let free_label = |slot: u8| format!("第{}张", u32::from(slot) + 1);
    let make = |slot: u8, image: Option<CandidateImageDto>, is_more: bool| {
        let unlocked = image.as_ref().is_none_or(|i| i.lock == Lock::Unlocked);
        let label = cat
            .slot_labels()
            .get(usize::from(slot))
            .map_or_else(|| free_label(slot), |(zh, _)| (*zh).to_string());
        Slot {
            category: cat,
            slot,
            label,
            can_delete: editable && image.is_some() && unlocked,
            can_upload: editable && unlocked,
            image,
            is_more,
        }
    };
    let find = |slot: u8| m.images.iter().find(|i| i.slot == slot).cloned();
    match cat.fixed_count() {
        Some(n) => (0..n).map(|s| make(s, find(s), false)).collect(),
        None => {
            let mut imgs = m.images.clone();
            imgs.sort_by_key(|i| i.slot);
            let mut out: Vec<Slot> = imgs
                .into_iter()
                .map(|i| make(i.slot, Some(i), false))
                .collect();
            let free = (0..MAX_FREE_SLOTS).find(|s| !m.images.iter().any(|i| i.slot == *s));
            if editable && let Some(s) = free {
                out.push(make(s, None, true));
            }
            out
        }
    }
}

/// What each category asks for (the authority's notice, in short).
pub fn requirement(cat: MaterialCategory) -> &'static str {
    match cat {
        MaterialCategory::IdProof => {
            "有效期内的居民身份证原件正、反面各一张，四角完整，文字与照片清晰可辨。"
        }
        MaterialCategory::Diploma => "毕业证书原件，整页拍摄，照片、钢印与学校公章清晰。",
        MaterialCategory::DegreeRecord => {
            "教育部学历证书电子注册备案表或学历认证报告，二维码与编号完整清晰。"
        }
        MaterialCategory::TrialAssessment => {
            "使用规定格式的试用期考核证明，签字与公章齐全，无涂改。"
        }
        MaterialCategory::AssistantCert => "执业助理医师资格证书原件，含照片与编号的页面。",
        MaterialCategory::PracticeLicense => "医师执业证书原件，含照片、执业地点与注册记录的页面。",
        MaterialCategory::InstitutionLicense => {
            "试用机构的医疗机构执业许可证正本或副本，在有效期内。"
        }
        MaterialCategory::GraduatePledge => "应届毕业生按规定格式填写并签字的报考承诺书。",
        MaterialCategory::Other => "考点、考区通知要求的其他材料，每张图片一份材料。",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_is_recovered_exactly() {
        let reasons = vec!["OTHER".to_string()];
        let with = messages::pending(Level::Site, &reasons, Some("请补交（原件）。谢谢"));
        let without = messages::pending(Level::Site, &reasons, None);
        assert_eq!(
            decision_note(&with, &without, PENDING_TAIL),
            Some(Some("请补交（原件）。谢谢".into()))
        );
        assert_eq!(decision_note(&without, &without, PENDING_TAIL), Some(None));
        let other = messages::pending(Level::District, &reasons, None);
        assert_eq!(decision_note(&other, &without, PENDING_TAIL), None);
    }

    #[test]
    fn final_result_waits_for_the_district() {
        let r = |site, district| Reviews { site, district };
        use ReviewStatus as S;
        assert_eq!(final_result(r(S::Passed, S::AwaitingReview)), None);
        assert_eq!(final_result(r(S::Pending, S::NotStarted)), None);
        assert!(final_result(r(S::Passed, S::Passed)).is_some_and(|f| f.passed));
        assert!(final_result(r(S::Passed, S::Rejected)).is_some_and(|f| !f.passed));
        assert!(final_result(r(S::Rejected, S::NotStarted)).is_some_and(|f| !f.passed));
    }

    #[test]
    fn seed_words_for_pending_reasons() {
        assert_eq!(
            candidate_reason_zh("MAT_NONCOMPLIANT"),
            "上传材料内容不符合报名要求或模糊不清"
        );
        assert_eq!(
            candidate_reason_zh("INFO_WRONG"),
            "填报内容不符合报名要求或填报错误"
        );
        assert_eq!(candidate_reason_zh("OTHER"), "其他");
    }

    fn material(cat: MaterialCategory, slots: &[(u8, Lock)]) -> CandidateMaterialDto {
        CandidateMaterialDto {
            category: cat,
            name_zh: cat.name_zh().into(),
            fixed_count: cat.fixed_count(),
            images: slots
                .iter()
                .map(|(s, lock)| CandidateImageDto {
                    id: i64::from(*s) + 1,
                    category: cat,
                    slot: *s,
                    slot_label: None,
                    generation: 1,
                    bytes: 1000,
                    width: 10,
                    height: 10,
                    sha256: String::new(),
                    uploaded_at: Utc::now(),
                    lock: *lock,
                    verdict: Verdict::Unreviewed,
                    reasons: vec![],
                    note: None,
                    lock_zh: None,
                })
                .collect(),
        }
    }

    #[test]
    fn fixed_slots_are_exactly_their_count() {
        let m = material(
            MaterialCategory::IdProof,
            &[(0, Lock::Unlocked), (1, Lock::Unlocked)],
        );
        let s = slots(&m, true);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].input_label(), "身份证明 正面");
        assert_eq!(s[1].input_label(), "身份证明 反面");
        assert!(s.iter().all(|s| s.can_delete && s.can_upload && !s.is_more));
    }

    #[test]
    fn free_slots_offer_one_more_while_editable() {
        let m = material(
            MaterialCategory::Diploma,
            &[(0, Lock::Locked), (2, Lock::Unlocked)],
        );
        let s = slots(&m, true);
        assert_eq!(s.len(), 3);
        assert!(!s[0].can_delete && !s[0].can_upload);
        assert!(s[1].can_delete);
        assert!(s[2].is_more && s[2].slot == 1 && s[2].label == "第2张");
        assert_eq!(slots(&m, false).len(), 2);
    }
}
