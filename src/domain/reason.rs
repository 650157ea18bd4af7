//! Reason codes for unlocking an image or deciding a candidate.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonTarget {
    Image,
    Candidate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReasonCode {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub applies_to: ReasonTarget,
    /// A free-text note must accompany this reason.
    pub note_required: bool,
}

const fn r(
    code: &'static str,
    zh: &'static str,
    en: &'static str,
    applies_to: ReasonTarget,
) -> ReasonCode {
    ReasonCode {
        code,
        zh,
        en,
        applies_to,
        note_required: false,
    }
}

/// The presets, in picker order (number keys pick them by position).
pub const REASONS: &[ReasonCode] = &[
    r(
        "BLURRY",
        "图片模糊不清",
        "Blurry or unreadable",
        ReasonTarget::Image,
    ),
    r(
        "INCOMPLETE",
        "图片不完整/四角缺失",
        "Incomplete, corners cut off",
        ReasonTarget::Image,
    ),
    r("ROTATED", "方向不正", "Not upright", ReasonTarget::Image),
    r(
        "MISSING_SIDE",
        "缺少反面/缺页",
        "Missing back side or page",
        ReasonTarget::Image,
    ),
    r(
        "WRONG_CATEGORY",
        "材料放错类别",
        "Uploaded under the wrong category",
        ReasonTarget::Image,
    ),
    r(
        "EXPIRED",
        "证件已过期",
        "Document expired",
        ReasonTarget::Image,
    ),
    r(
        "NOT_ORIGINAL",
        "非原件",
        "Not the original",
        ReasonTarget::Image,
    ),
    r(
        "NO_SEAL",
        "未盖公章或未签字",
        "No official seal or signature",
        ReasonTarget::Image,
    ),
    r(
        "MISMATCH",
        "与填报信息不符",
        "Does not match the registration details",
        ReasonTarget::Image,
    ),
    r(
        "WRONG_FORM",
        "未使用规定表格",
        "Not on the prescribed form",
        ReasonTarget::Image,
    ),
    r(
        "ALTERED",
        "有涂改",
        "Shows alterations",
        ReasonTarget::Image,
    ),
    r(
        "SUPPLEMENT",
        "需补充材料",
        "Further material needed",
        ReasonTarget::Image,
    ),
    r(
        "MAT_NONCOMPLIANT",
        "上传材料不符合要求或模糊不清",
        "Uploaded material does not meet requirements or is unclear",
        ReasonTarget::Candidate,
    ),
    r(
        "INFO_WRONG",
        "填报内容不符合要求或填报错误",
        "Registration details do not meet requirements or are wrong",
        ReasonTarget::Candidate,
    ),
    r(
        "INELIGIBLE",
        "不符合报考条件",
        "Does not meet the eligibility rules",
        ReasonTarget::Candidate,
    ),
    r(
        "ONSITE",
        "需现场审核",
        "Must be reviewed in person",
        ReasonTarget::Candidate,
    ),
    ReasonCode {
        code: "OTHER",
        zh: "其他（须说明）",
        en: "Other (explain in a note)",
        applies_to: ReasonTarget::Candidate,
        note_required: true,
    },
];

pub fn reason(code: &str) -> Option<&'static ReasonCode> {
    REASONS.iter().find(|r| r.code == code)
}

/// The presets for one target, in picker order.
pub fn reasons_for(target: ReasonTarget) -> impl Iterator<Item = &'static ReasonCode> {
    REASONS.iter().filter(move |r| r.applies_to == target)
}

/// Longest note we store; longer ones are refused, not cut.
pub const MAX_NOTE_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    #[error("at least one reason is required")]
    ReasonRequired,
    #[error("unknown reason code {0:?}")]
    Unknown(String),
    #[error("reason {0} does not apply here")]
    WrongTarget(String),
    #[error("reason {0} needs a note")]
    NoteRequired(String),
    #[error("reason {0} is given twice")]
    Duplicate(String),
    #[error("the note is longer than {MAX_NOTE_CHARS} characters")]
    NoteTooLong,
}

/// Check a set of reasons for `target`. A note is trimmed; an empty one
/// counts as absent. `OTHER` is accepted for images too (an image can be
/// wrong in a way no preset names), always with a note.
pub fn validate_reasons(
    target: ReasonTarget,
    reasons: &[String],
    note: Option<&str>,
) -> Result<(), ReasonError> {
    if reasons.is_empty() {
        return Err(ReasonError::ReasonRequired);
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(ReasonError::NoteTooLong);
    }
    for (i, code) in reasons.iter().enumerate() {
        let rc = reason(code).ok_or_else(|| ReasonError::Unknown(code.clone()))?;
        if reasons[..i].contains(code) {
            return Err(ReasonError::Duplicate(code.clone()));
        }
        if rc.applies_to != target && rc.code != "OTHER" {
            return Err(ReasonError::WrongTarget(code.clone()));
        }
        if rc.note_required && note.is_none() {
            return Err(ReasonError::NoteRequired(code.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn codes_are_unique() {
        for (i, a) in REASONS.iter().enumerate() {
            assert!(
                REASONS[i + 1..].iter().all(|b| b.code != a.code),
                "{}",
                a.code
            );
        }
        assert_eq!(reasons_for(ReasonTarget::Image).count(), 12);
    }

    #[test]
    fn validation() {
        use ReasonTarget::*;
        assert_eq!(
            validate_reasons(Image, &[], None),
            Err(ReasonError::ReasonRequired)
        );
        assert_eq!(
            validate_reasons(Image, &v(&["BLURRY", "ROTATED"]), None),
            Ok(())
        );
        assert_eq!(
            validate_reasons(Image, &v(&["NOPE"]), None),
            Err(ReasonError::Unknown("NOPE".into()))
        );
        assert_eq!(
            validate_reasons(Image, &v(&["INFO_WRONG"]), None),
            Err(ReasonError::WrongTarget("INFO_WRONG".into()))
        );
        assert_eq!(
            validate_reasons(Candidate, &v(&["OTHER"]), Some("  ")),
            Err(ReasonError::NoteRequired("OTHER".into()))
        );
        assert_eq!(
            validate_reasons(Candidate, &v(&["OTHER"]), Some("见电话")),
            Ok(())
        );
        assert_eq!(
            validate_reasons(Image, &v(&["OTHER"]), Some("反光")),
            Ok(())
        );
        assert_eq!(
            validate_reasons(Image, &v(&["BLURRY", "BLURRY"]), None),
            Err(ReasonError::Duplicate("BLURRY".into()))
        );
        let long = "字".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(
            validate_reasons(Image, &v(&["BLURRY"]), Some(&long)),
            Err(ReasonError::NoteTooLong)
        );
    }
}
