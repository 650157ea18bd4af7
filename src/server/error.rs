//! Errors of the HTTP layer, all answered as RFC 9457 problem+json
//! ([`Problem`]) with a stable `code`.
//!
//! # Problem codes
//!
//! | status | code | when |
//! | --- | --- | --- |
//! | 400 | `bad_request` | a request axum could not parse (path, query, headers) |
//! | 400 | `malformed_json` | the body is not JSON of the expected shape |
//! | 400 | `invalid_query` | an unknown `state`, a `limit` out of range |
//! | 400 | `invalid_cursor` | a `cursor` this server did not issue |
//! | 400 | `invalid_header` | a malformed `If-Match`, or an `Idempotency-Key` that is not a UUID |
//! | 400 | `invalid_multipart` | the upload is not multipart with a `file` field |
//! | 401 | `invalid_credentials` | wrong username / reg_no or password |
//! | 401 | `unauthorized` | no token, an unknown, forged or revoked one |
//! | 401 | `token_expired` | the token's lifetime is over; log in again |
//! | 403 | `wrong_level` | deciding or undoing at a level that is not the caller's |
//! | 404 | `not_found` | no such route, or no such thing in the caller's scope |
//! | 405 | `method_not_allowed` | the route exists, not with this method |
//! | 408 | `request_timeout` | the request took longer than the server allows |
//! | 409 | `stale_version` | the expected version is not the current one (`changed_by`, `changed_at`, `current_version`) |
//! | 409 | `claimed` | another reviewer holds the candidate (`held_by`, `held_until`) |
//! | 409 | `invalid_transition` | the state machine refuses the action now |
//! | 409 | `unlocked_images` | pass while an image is still unlocked (未锁定) |
//! | 409 | `not_editable` | the candidate may not change materials now |
//! | 409 | `window_closed` | upload outside the review window |
//! | 409 | `image_locked` | replacing or deleting a locked (已锁定) image |
//! | 409 | `slot_full` | the category already holds its fixed count |
//! | 409 | `bad_slot` | a slot the category does not have (身份证明 has 0 and 1) |
//! | 409 | `undo_conflict` | the target changed since the event, or it was undone already |
//! | 409 | `nothing_uploaded` | submit with no image at all |
//! | 409 | `undo_window_closed` | undo after the undo window closed: the action is final (two minutes, or longer while its reviewer stays on the candidate) |
//! | 409 | `not_undoable` | undo of an action that cannot be undone (only lock, unlock, decision) |
//! | 413 | `payload_too_large` | the request body exceeds the route's limit |
//! | 413 | `file_too_large` | an upload over 204,800 bytes |
//! | 415 | `unsupported_media_type` | the wrong `Content-Type` for the body |
//! | 422 | `reason_required` | unlock / pending / reject / return without a reason |
//! | 422 | `unknown_reason` | a reason code that does not exist |
//! | 422 | `reason_not_applicable` | an image reason on a decision or vice versa |
//! | 422 | `note_required` | `OTHER` without a note |
//! | 422 | `duplicate_reason` | a reason given twice |
//! | 422 | `note_too_long` | a note or feedback body over the limit |
//! | 422 | `invalid_field` | a field with an impossible value (empty feedback, a slot that is not a digit) |
//! | 422 | `unsupported_format` | an upload that is not JPEG or PNG by content |
//! | 422 | `invalid_image` | a corrupt or truncated image, or one too large to decode |
//! | 422 | `idempotency_key_reused` | the same key with a different request |
//! | 429 | `rate_limited` | too many failed logins (`Retry-After`) |
//! | 500 | `internal` | a bug or a storage failure; nothing is leaked |

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::api::dto::Problem;

use super::store::StoreError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error on its way to becoming a problem+json response.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}: {detail}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub changed_by: Option<String>,
    pub changed_at: Option<DateTime<Utc>>,
    pub current_version: Option<i64>,
    pub held_by: Option<String>,
    pub held_until: Option<DateTime<Utc>>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            detail: detail.into(),
            changed_by: None,
            changed_at: None,
            current_version: None,
            held_by: None,
            held_until: None,
            retry_after: None,
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such resource in your scope",
        )
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the request may be retried",
        )
    }

    pub fn payload_too_large(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", detail)
    }

    pub fn to_problem(&self) -> Problem {
        Problem {
            type_: format!("https://shenhe.invalid/problems/{}", self.code),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            code: self.code.to_string(),
            detail: Some(self.detail.clone()),
            changed_by: self.changed_by.clone(),
            changed_at: self.changed_at,
            current_version: self.current_version,
            held_by: self.held_by.clone(),
            held_until: self.held_until,
            retry_after: self.retry_after,
        }
    }

    /// The generic problem for a bare status (axum's own rejections, the
    /// router's 404/405, the timeout layer's 408).
    pub fn for_status(status: StatusCode) -> ApiError {
        let (code, detail) = match status.as_u16() {
            400 => ("bad_request", "the request could not be parsed"),
            401 => ("unauthorized", "a valid bearer token is required"),
            404 => ("not_found", "no such resource"),
            405 => ("method_not_allowed", "the method is not allowed here"),
            408 => ("request_timeout", "the request took too long"),
            413 => ("payload_too_large", "the request body is too large"),
            415 => ("unsupported_media_type", "unsupported content type"),
            422 => ("invalid_field", "the request body is invalid"),
            429 => ("rate_limited", "too many requests"),
            s if s >= 500 => ("internal", "internal error; the request may be retried"),
            _ => ("bad_request", "the request was refused"),
        };
        ApiError::new(status, code, detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, detail = %self.detail, "request failed");
        }
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let mut resp = (self.status, body).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            h.insert(header::RETRY_AFTER, v);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"shenhe\""),
            );
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        use crate::domain::reason::ReasonError as R;
        use crate::domain::rules::UploadError as U;
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Stale {
                changed_by,
                changed_at,
                current_version,
            } => ApiError {
                changed_by,
                changed_at,
                current_version: Some(current_version),
                ..ApiError::conflict(
                    "stale_version",
                    "someone changed this since you loaded it; reload and try again",
                )
            },
            StoreError::Claimed {
                held_by,
                held_until,
            } => ApiError {
                held_by: Some(held_by.clone()),
                held_until: Some(held_until),
                ..ApiError::conflict("claimed", format!("{held_by} is reviewing this candidate"))
            },
            StoreError::WrongLevel(d) => ApiError::new(StatusCode::FORBIDDEN, "wrong_level", d),
            StoreError::Image(t) => ApiError::conflict("invalid_transition", t.to_string()),
            StoreError::Review(t) => ApiError::conflict("invalid_transition", t.to_string()),
            StoreError::UnlockedImages(n) => ApiError::conflict(
                "unlocked_images",
                format!(
                    "{n} image(s) are still unlocked (未锁定); a pass needs every image locked"
                ),
            ),
            StoreError::UndoConflict(d) => ApiError::conflict("undo_conflict", d),
            StoreError::NotUndoable(d) => ApiError::conflict("not_undoable", d),
            StoreError::UndoWindowClosed(d) => ApiError::conflict("undo_window_closed", d),
            StoreError::NothingUploaded => ApiError::conflict(
                "nothing_uploaded",
                "upload at least one image before submitting",
            ),
            StoreError::Reasons(r) => {
                let code = match &r {
                    R::ReasonRequired => "reason_required",
                    R::Unknown(_) => "unknown_reason",
                    R::WrongTarget(_) => "reason_not_applicable",
                    R::NoteRequired(_) => "note_required",
                    R::Duplicate(_) => "duplicate_reason",
                    R::NoteTooLong => "note_too_long",
                };
                ApiError::unprocessable(code, r.to_string())
            }
            StoreError::Upload(u) => {
                let detail = u.to_string();
                match u {
                    U::WindowClosed(_) => ApiError::conflict("window_closed", detail),
                    U::NotEditable => ApiError::conflict("not_editable", detail),
                    U::TooLarge(_) => {
                        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "file_too_large", detail)
                    }
                    U::Empty => ApiError::unprocessable("invalid_image", detail),
                    U::WrongFormat(_) => ApiError::unprocessable("unsupported_format", detail),
                    U::SlotFull { .. } => ApiError::conflict("slot_full", detail),
                    U::BadSlot { .. } => ApiError::conflict("bad_slot", detail),
                    U::Locked => ApiError::conflict("image_locked", detail),
                }
            }
            StoreError::Invalid {
                code: "invalid_transition",
                detail,
            } => ApiError::conflict("invalid_transition", detail),
            StoreError::Invalid { code, detail } => ApiError::unprocessable(code, detail),
            StoreError::Db(e) => {
                tracing::error!(error = %e, "database error");
                ApiError::internal()
            }
            StoreError::Sqlite(e) => {
                tracing::error!(error = %e, "database error (direct read)");
                ApiError::internal()
            }
            StoreError::Corrupt(e) => {
                tracing::error!(error = %e, "stored data did not decode");
                ApiError::internal()
            }
        }
    }
}
