//! The wire types of `/api/v1`, shared by the reference server and the
//! console so the two cannot drift. The OpenAPI document is generated from
//! these (utoipa).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::audit::FeedbackChannel;
use crate::domain::category::MaterialCategory;
use crate::domain::image::{Lock, Verdict};
use crate::domain::reason::ReasonTarget;
use crate::domain::review::{Decision, Level, ReviewStatus};

/// An optional integer that also accepts an integral float (`7.0`): JSON
/// Schema's `integer` admits both, and clients in other languages send them.
fn integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::Error;
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(i));
            }
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => {
                    Ok(Some(f as i64))
                }
                _ => Err(D::Error::custom(format!("{n} is not a 64-bit integer"))),
            }
        }
    }
}

// ---------------------------------------------------------------- session

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReviewerDto {
    pub username: String,
    pub display_name: String,
    pub level: Level,
    pub district: String,
    /// None for a district reviewer.
    pub site: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WindowDto {
    pub opens: NaiveDate,
    pub closes: NaiveDate,
    /// Candidates may upload today.
    pub open: bool,
    /// Days left including today; 0 once closed.
    pub days_left: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SessionResponse {
    /// Opaque bearer token.
    pub token: String,
    #[serde(serialize_with = "crate::api::timefmt::rfc3339")]
    pub expires_at: DateTime<Utc>,
    pub reviewer: ReviewerDto,
    pub window: WindowDto,
    /// Seconds an action may be undone (longer while the reviewer stays
    /// on the candidate); after that it is final.
    #[serde(default = "default_undo_secs")]
    pub undo_window_secs: i64,
}

/// What a server that does not say gives: `domain::undo_window::DEFAULT`.
fn default_undo_secs() -> i64 {
    crate::domain::undo_window::DEFAULT.num_seconds()
}

/// `GET /api/v1/me`: who the token belongs to, for a console that starts
/// with a stored token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MeResponse {
    pub reviewer: ReviewerDto,
    pub window: WindowDto,
    #[serde(serialize_with = "crate::api::timefmt::rfc3339")]
    pub expires_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::api::timefmt::rfc3339")]
    pub server_time: DateTime<Utc>,
    /// As in [`SessionResponse`].
    #[serde(default = "default_undo_secs")]
    pub undo_window_secs: i64,
}

// ---------------------------------------------------------------- queue

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CandidateQuery {
    /// awaiting_review | pending | passed | rejected | returned | not_started
    /// (the state at the caller's level). Absent: every state.
    pub state: Option<String>,
    /// Any part of the name or the reg_no, the last digits of the ID
    /// number, or the name's pinyin initials (`xyj` for 谢艳佳).
    pub q: Option<String>,
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1..=500 (default 50).
    pub limit: Option<u32>,
    /// asc (default: the queue's order, first submitted first) or desc
    /// (from its end; `next_cursor` then goes on backwards).
    #[param(inline, value_type = Option<SortOrder>)]
    pub order: Option<String>,
}

/// The direction of `GET /api/v1/candidates` (its schema; the query keeps
/// the text and the handler refuses anything else with 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    pub awaiting_review: i64,
    pub pending: i64,
    pub passed: i64,
    pub rejected: i64,
    /// District: returned to the site. Site: returned by the district and
    /// awaiting the site again.
    pub returned: i64,
    /// Candidates who have not submitted yet (site level only).
    pub not_started: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClaimDto {
    pub reviewer: String,
    #[serde(serialize_with = "crate::api::timefmt::rfc3339")]
    pub expires_at: DateTime<Utc>,
    /// The caller holds it.
    pub mine: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CandidateSummary {
    pub id: i64,
    pub reg_no: String,
    pub name: String,
    pub exam_category: String,
    pub site: String,
    /// The state at the caller's level.
    pub state: ReviewStatus,
    pub site_review: ReviewStatus,
    pub district_review: ReviewStatus,
    #[serde(serialize_with = "crate::api::timefmt::rfc3339_opt")]
    pub submitted_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::api::timefmt::rfc3339")]
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub claim: Option<ClaimDto>,
    /// Images in the dossier.
    pub images: i64,
    /// Images with a quality hint (blurry, rotated, small, duplicate).
    pub flagged: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CandidateList {
    pub items: Vec<CandidateSummary>,
    pub next_cursor: Option<String>,
    pub counts: Counts,
}

// ---------------------------------------------------------------- dossier

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReviewDto {
    pub state: ReviewStatus,
    pub reasons: Vec<String>,
    pub note: Option<String>,
    pub reviewer: Option<String>,
    #[serde(serialize_with = "crate::api::timefmt::rfc3339_opt")]
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DuplicateRef {
    pub image_id: i64,
    /// Present only when that candidate is in the caller's scope.
    pub candidate_id: Option<i64>,
    pub reg_no: Option<String>,
    /// Hamming distance of the perceptual hashes (0 for an exact copy).
    pub distance: u32,
}

/// Quality hints, computed once at upload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HintsDto {
    pub over_size: bool,
    pub wrong_format: bool,
    pub too_small: bool,
    /// EXIF orientation 1..=8; 1 is upright.
    pub orientation: u8,
    pub not_upright: bool,
    /// Normalised sharpness, 0 (flat) .. 1 (sharp).
    pub blur_score: f32,
    pub blurry: bool,
    pub duplicate_of: Vec<DuplicateRef>,
    pub near_duplicate_of: Vec<DuplicateRef>,
}

impl HintsDto {
    pub fn any(&self) -> bool {
        self.over_size
            || self.wrong_format
            || self.too_small
            || self.not_upright
            || self.blurry
            || !self.duplicate_of.is_empty()
            || !self.near_duplicate_of.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImageDto {
    pub id: i64,
    pub candidate_id: i64,
    pub category: MaterialCategory,
    /// 0-based slot within the category.
    pub slot: u8,
    /// 正面 / 反面 for fixed slots.
    pub slot_label: Option<String>,
    pub generation: i64,
    /// jpeg | png
    pub format: String,
    pub bytes: i64,
    pub width: u32,
    pub height: u32,
    /// Hex SHA-256 of the content; also the content's ETag.
    pub sha256: String,
    #[serde(serialize_with = "crate::api::timefmt::rfc3339")]
    pub uploaded_at: DateTime<Utc>,
    pub version: i64,
    pub lock: Lock,
    pub verdict: Verdict,
    /// Reasons of a replace request.
    pub reasons: Vec<String>,
    pub note: Option<String>,
    /// The candidate uploaded a new generation after the replace request.
    pub replaced: bool,
    pub hints: HintsDto,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MaterialDto {
    pub category: MaterialCategory,
    pub name_zh: String,
    pub name_en: String,
    pub fixed_count: Option<u8>,
    pub images: Vec<ImageDto>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FeedbackDto {
    pub id: i64,
    pub channel: FeedbackChannel,
    pub body: String,
    pub author: String,
    #[serde(serialize_with = "crate::api::timefmt::rfc3339")]
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CandidateDetail {
    pub id: i64,
    pub reg_no: String,
    pub name: String,
    /// 居民身份证 etc.
    pub id_type: String,
    /// Masked (`3201**********1234`) unless revealed.
    pub id_number: String,
    pub id_revealed: bool,
    /// 男 / 女
    pub gender: String,
    pub birth_date: NaiveDate,
    pub exam_category: String,
    pub district: String,
    pub site: String,
    pub education: String,
    pub school: String,
    pub major: String,
    pub graduation_date: Option<NaiveDate>,
    pub trial_institution: Option<String>,
    /// Masked (`138****5678`).
    pub phone: String,
    #[serde(serialize_with = "crate::api::timefmt::rfc3339_opt")]
    pub submitted_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::api::timefmt::rfc3339")]
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub site_review: ReviewDto,
    pub district_review: ReviewDto,
    pub claim: Option<ClaimDto>,
    /// Every category, in display order, with its images (possibly none).
    pub materials: Vec<MaterialDto>,
    /// Newest first.
    pub feedback: Vec<FeedbackDto>,
}

// ---------------------------------------------------------------- actions

/// Body of `POST /images/{id}/lock` (optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LockRequest {
    /// The image version the reviewer saw (or send `If-Match`).
    #[serde(default, deserialize_with = "integral")]
    pub expected_version: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnlockRequest {
    /// Image reason codes, at least one.
    #[serde(default)]
    pub reasons: Vec<String>,
    pub note: Option<String>,
    #[serde(default, deserialize_with = "integral")]
    pub expected_version: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImageActionResponse {
    pub image: ImageDto,
    /// The candidate's version after the change (image changes bump it).
    pub candidate_version: i64,
    pub audit_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DecisionRequest {
    pub level: Level,
    pub decision: Decision,
    #[serde(default)]
    pub reasons: Vec<String>,
    pub note: Option<String>,
    /// The candidate version the reviewer saw (or send `If-Match`).
    #[serde(default, deserialize_with = "integral")]
    pub expected_version: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DecisionResponse {
    pub candidate_id: i64,
    pub site_review: ReviewDto,
    pub district_review: ReviewDto,
    pub candidate_version: i64,
    pub audit_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FeedbackRequest {
    pub channel: FeedbackChannel,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevealResponse {
    pub id_number: String,
    pub audit_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEventDto {
    pub id: i64,
    #[serde(serialize_with = "crate::api::timefmt::rfc3339")]
    pub at: DateTime<Utc>,
    /// Username of the reviewer or reg_no of the candidate.
    pub actor: String,
    /// image.lock | image.unlock | candidate.decision | candidate.reveal_id |
    /// candidate.feedback | candidate.submit | image.upload | image.delete | undo
    pub action: String,
    /// `image:{id}` or `candidate:{id}`.
    pub target: String,
    pub candidate_id: i64,
    #[schema(value_type = Value)]
    pub before: serde_json::Value,
    #[schema(value_type = Value)]
    pub after: serde_json::Value,
    pub reasons: Vec<String>,
    pub note: Option<String>,
    pub idempotency_key: Option<String>,
    /// For an undo: the event it compensates.
    pub undoes: Option<i64>,
    /// The undo event that compensated this one, if any.
    pub undone_by: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditEventDto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UndoResponse {
    pub audit_id: i64,
    pub undone: i64,
    pub candidate: CandidateDetail,
}

// ---------------------------------------------------------------- reference data

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReasonCodeDto {
    pub code: String,
    pub zh: String,
    pub en: String,
    pub applies_to: ReasonTarget,
    pub note_required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlotLabelDto {
    pub zh: String,
    pub en: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MaterialCategoryDto {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub fixed_count: Option<u8>,
    pub slot_labels: Vec<SlotLabelDto>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReasonCodeList {
    pub items: Vec<ReasonCodeDto>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MaterialCategoryList {
    pub items: Vec<MaterialCategoryDto>,
}

impl ReasonCodeDto {
    pub fn all() -> Vec<ReasonCodeDto> {
        crate::domain::reason::REASONS
            .iter()
            .map(|r| ReasonCodeDto {
                code: r.code.into(),
                zh: r.zh.into(),
                en: r.en.into(),
                applies_to: r.applies_to,
                note_required: r.note_required,
            })
            .collect()
    }
}

impl MaterialCategoryDto {
    pub fn all() -> Vec<MaterialCategoryDto> {
        MaterialCategory::ALL
            .iter()
            .map(|c| MaterialCategoryDto {
                code: c.code().into(),
                name_zh: c.name_zh().into(),
                name_en: c.name_en().into(),
                fixed_count: c.fixed_count(),
                slot_labels: c
                    .slot_labels()
                    .iter()
                    .map(|(zh, en)| SlotLabelDto {
                        zh: (*zh).into(),
                        en: (*en).into(),
                    })
                    .collect(),
            })
            .collect()
    }
}

// ---------------------------------------------------------------- events

/// One message of `GET /events` as it appears on the wire (the document
/// describes the stream item by item): `event: candidate` with a
/// [`QueueEvent`] as JSON in `data`, or `event: reset` with the newest
/// event number; `id` is the event's number, to send back as
/// `Last-Event-ID`. Heartbeats are comment lines, not messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventStreamMessage {
    #[schema(pattern = "^(candidate|reset)$")]
    pub event: String,
    /// A `QueueEvent` as JSON (`candidate`), or a number (`reset`).
    pub data: String,
    #[schema(pattern = "^[0-9]+$")]
    pub id: String,
}

/// One server-sent event (`event: candidate`): a candidate in the caller's
/// scope changed. The console moves the row without refetching the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QueueEvent {
    pub candidate_id: i64,
    pub version: i64,
    pub site_review: ReviewStatus,
    pub district_review: ReviewStatus,
    pub claim: Option<ClaimDto>,
    /// Who made the change.
    pub actor: String,
    /// The audit action, or `claim` / `release`.
    pub action: String,
    #[serde(serialize_with = "crate::api::timefmt::rfc3339")]
    pub at: DateTime<Utc>,
}

// ---------------------------------------------------------------- errors

/// RFC 9457 problem details, with a stable machine-readable `code`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// 409 stale_version: who made the change the caller did not see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::api::timefmt::rfc3339_opt")]
    pub changed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
    /// 409 claimed: who holds the candidate, until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::api::timefmt::rfc3339_opt")]
    pub held_until: Option<DateTime<Utc>>,
    /// The `Retry-After` header of the answer, in seconds (not in the body).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

// ---------------------------------------------------------------- candidate side

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CandidateLoginRequest {
    pub reg_no: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CandidateImageDto {
    pub id: i64,
    pub category: MaterialCategory,
    pub slot: u8,
    pub slot_label: Option<String>,
    pub generation: i64,
    pub bytes: i64,
    pub width: u32,
    pub height: u32,
    pub sha256: String,
    #[serde(serialize_with = "crate::api::timefmt::rfc3339")]
    pub uploaded_at: DateTime<Utc>,
    /// 已锁定 (locked) / 未锁定 (unlocked).
    pub lock: Lock,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub note: Option<String>,
    /// 已锁定 / 未锁定: `lock` in the words of the registration system.
    #[serde(default)]
    pub lock_zh: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CandidateMaterialDto {
    pub category: MaterialCategory,
    pub name_zh: String,
    pub fixed_count: Option<u8>,
    pub images: Vec<CandidateImageDto>,
}

/// What the candidate sees on the upload page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CandidateSelf {
    pub id: i64,
    pub reg_no: String,
    pub name: String,
    /// Overall result as the candidate sees it.
    pub status: ReviewStatus,
    /// 审核通过, 审核待定, … in the words of the registration system.
    pub status_zh: String,
    /// Pending reasons, if 审核待定.
    pub reasons: Vec<String>,
    /// Materials may be changed now (before submission or while 审核待定).
    pub editable: bool,
    #[serde(serialize_with = "crate::api::timefmt::rfc3339_opt")]
    pub submitted_at: Option<DateTime<Utc>>,
    pub window: WindowDto,
    pub materials: Vec<CandidateMaterialDto>,
    /// Messages shown at the top of the upload page, newest first.
    pub feedback: Vec<FeedbackDto>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CandidateSessionResponse {
    pub token: String,
    #[serde(serialize_with = "crate::api::timefmt::rfc3339")]
    pub expires_at: DateTime<Utc>,
    pub candidate: CandidateSelf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UploadResponse {
    pub image: CandidateImageDto,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealthResponse {
    pub status: String,
    pub version: String,
}
