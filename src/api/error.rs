//! Errors of the console's API client, typed so the status bar can say what
//! happened in words (and so update() can react: 401 → login, 409 → who).

use chrono::{DateTime, Utc};

use super::dto::Problem;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The server answered with problem+json (or a status we mapped to one).
    #[error("{} ({}): {}", .0.title, .0.code, .0.detail.as_deref().unwrap_or(""))]
    Problem(Box<Problem>),
    /// No answer in time; the request may or may not have been applied
    /// (retrying with the same Idempotency-Key is safe).
    #[error("the server did not answer in time")]
    Timeout,
    /// Could not connect, or the connection dropped mid-request.
    #[error("cannot reach the server: {0}")]
    Connect(String),
    /// The body was not what the API promises.
    #[error("the server sent a body the console cannot read: {0}")]
    Malformed(String),
    /// A non-problem error status (a proxy's HTML page, say).
    #[error("the server answered HTTP {status}")]
    Status {
        status: u16,
        body: String,
        /// Its `Retry-After`, in seconds.
        retry_after: Option<u64>,
    },
    /// Building the request failed (bad server URL …).
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl ApiError {
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ApiError::Problem(p) => Some(p),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Problem(p) => Some(p.status),
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        self.problem().map(|p| p.code.as_str())
    }

    /// The token is missing, wrong or expired: show the login screen.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    /// Someone changed the object first (stale expected_version).
    pub fn conflict(&self) -> Option<(Option<&str>, Option<DateTime<Utc>>)> {
        match self {
            ApiError::Problem(p) if p.status == 409 => {
                Some((p.changed_by.as_deref(), p.changed_at))
            }
            _ => None,
        }
    }

    /// The request never got a definite answer (worth retrying).
    pub fn is_transport(&self) -> bool {
        matches!(self, ApiError::Timeout | ApiError::Connect(_))
    }

    /// Worth trying again later: no definite answer, or the server said
    /// "not now" (5xx, 429, 408). Only idempotent calls are retried.
    pub fn is_retryable(&self) -> bool {
        self.is_transport() || matches!(self.status(), Some(408 | 429 | 500..=599))
    }

    /// A definite "no" (409 stale or conflict, 403/404 scope, 400/422
    /// validation …): sending it again cannot help.
    pub fn is_refusal(&self) -> bool {
        !self.is_unauthorized() && !self.is_retryable()
    }

    /// Build from an error status and its body; never fails, never panics.
    pub fn from_response(status: u16, body: &[u8]) -> ApiError {
        match serde_json::from_slice::<Problem>(body) {
            Ok(mut p) => {
                if p.status == 0 {
                    p.status = status;
                }
                ApiError::Problem(Box::new(p))
            }
            Err(_) => ApiError::Status {
                status,
                // Enough to log; the status bar shows only the status.
                body: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
                retry_after: None,
            },
        }
    }

    /// The same error, with the answer's `Retry-After` (seconds).
    pub fn with_retry_after(mut self, secs: Option<u64>) -> ApiError {
        match &mut self {
            ApiError::Problem(p) => p.retry_after = secs,
            ApiError::Status { retry_after, .. } => *retry_after = secs,
            _ => {}
        }
        self
    }

    /// How long the server asked us to wait (429, 503), if it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        let secs = match self {
            ApiError::Problem(p) => p.retry_after,
            ApiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }?;
        Some(std::time::Duration::from_secs(secs))
    }

    /// The server answered, and with a failure of its own (5xx): worth a
    /// few more tries, not forever.
    pub fn is_server_failure(&self) -> bool {
        matches!(self.status(), Some(500..=599))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_bodies_are_typed() {
        let body = br#"{"type":"about:blank","title":"Conflict","status":409,"code":"stale_version","changed_by":"suzhou","changed_at":"2027-03-01T08:00:00Z"}"#;
        let e = ApiError::from_response(409, body);
        assert_eq!(e.code(), Some("stale_version"));
        let (who, at) = e.conflict().expect("conflict");
        assert_eq!(who, Some("suzhou"));
        assert!(at.is_some());
    }

    #[test]
    fn retryable_versus_refused() {
        for (status, retry) in [(500, true), (503, true), (429, true), (408, true)] {
            let e = ApiError::from_response(status, b"");
            assert_eq!(e.is_retryable(), retry, "{status}");
            assert!(!e.is_refusal(), "{status}");
        }
        for status in [400, 403, 404, 409, 422] {
            let e = ApiError::from_response(status, b"");
            assert!(e.is_refusal() && !e.is_retryable(), "{status}");
        }
        assert!(ApiError::Timeout.is_retryable());
        assert!(!ApiError::from_response(401, b"").is_refusal());
    }

    #[test]
    fn retry_after_is_kept() {
        let e = ApiError::from_response(503, b"").with_retry_after(Some(7));
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(7)));
        let p = ApiError::from_response(
            429,
            br#"{"status":429,"code":"rate_limited","title":"t","type":"x"}"#,
        )
        .with_retry_after(Some(3));
        assert_eq!(p.retry_after(), Some(std::time::Duration::from_secs(3)));
        assert!(p.is_retryable() && !p.is_server_failure());
    }

    #[test]
    fn garbage_is_not_a_panic() {
        let e = ApiError::from_response(502, b"<html>bad gateway\xff");
        assert_eq!(e.status(), Some(502));
        assert!(e.problem().is_none());
        let e = ApiError::from_response(401, b"");
        assert!(e.is_unauthorized());
    }
}
