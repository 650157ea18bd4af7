//! Extractors whose rejections are problem+json, the expected-version and
//! idempotency headers, and the middleware that turns any other bare error
//! (router 404/405, timeout 408) into problem+json; and the JSON response
//! of the large reads.

use axum::body::{Body, Bytes};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::error::{ApiError, PROBLEM_JSON};

/// `Json<T>` with problem+json rejections.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

fn json_rejection(rej: JsonRejection) -> ApiError {
    match rej {
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request("malformed_json", e.body_text()),
        JsonRejection::JsonDataError(e) => ApiError::unprocessable("invalid_field", e.body_text()),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected Content-Type: application/json",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::payload_too_large("the JSON body is larger than 64 KB")
        }
        other => ApiError::bad_request("malformed_json", other.body_text()),
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| ApiJson(v))
            .map_err(json_rejection)
    }
}

/// A JSON body that may be absent (then `T::default()`).
#[derive(Debug, Clone)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                let ct = ct.to_ascii_lowercase();
                ct.starts_with("application/json") || ct.contains("+json")
            });
        let has_type = req.headers().contains_key(header::CONTENT_TYPE);
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large("the JSON body is larger than 64 KB")
            } else {
                ApiError::bad_request("bad_request", e.body_text())
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        if has_type && !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected Content-Type: application/json",
            ));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        // `null` is as good as no body.
        match serde_path_to_error::<Option<T>>(&mut de) {
            Ok(v) => Ok(OptionalJson(v.unwrap_or_default())),
            Err(e) if e.is_syntax() || e.is_eof() => {
                Err(ApiError::bad_request("malformed_json", e.to_string()))
            }
            Err(e) => Err(ApiError::unprocessable("invalid_field", e.to_string())),
        }
    }
}

fn serde_path_to_error<T: DeserializeOwned>(
    de: &mut serde_json::Deserializer<serde_json::de::SliceRead<'_>>,
) -> Result<T, serde_json::Error> {
    let v = T::deserialize(&mut *de)?;
    de.end()?;
    Ok(v)
}

/// `Path<T>` with problem+json rejections.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e: PathRejection| ApiError::bad_request("bad_request", e.body_text()))
    }
}

/// `Query<T>` with problem+json rejections.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e: QueryRejection| ApiError::bad_request("invalid_query", e.body_text()))
    }
}

/// The `If-Match` header as an expected version: `5`, `"5"` or `W/"5"`;
/// `*` means no expectation.
#[derive(Debug, Clone, Copy, Default)]
pub struct IfMatch(pub Option<i64>);

/// What the spec admits (and nothing else is parsed).
pub const IF_MATCH_PATTERN: &str = "^(\\*|(W/)?\"[0-9]{1,18}\"|[0-9]{1,18})$";

pub fn parse_if_match(v: &str) -> Option<Option<i64>> {
    let v = v.trim();
    if v == "*" {
        return Some(None);
    }
    let digits = match v.strip_prefix("W/").unwrap_or(v) {
        q if q.len() >= 2 && q.starts_with('"') && q.ends_with('"') => &q[1..q.len() - 1],
        // A bare number only without the weak prefix.
        q if !v.starts_with("W/") => q,
        _ => return None,
    };
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().map(Some)
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match parts.headers.get(header::IF_MATCH) {
            None => Ok(IfMatch(None)),
            Some(v) => v
                .to_str()
                .ok()
                .and_then(parse_if_match)
                .map(IfMatch)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_header",
                        "If-Match must be a version number, e.g. \"7\"",
                    )
                }),
        }
    }
}

impl IfMatch {
    /// The header wins over the body's `expected_version`.
    pub fn or(self, body: Option<i64>) -> Option<i64> {
        self.0.or(body)
    }
}

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The key's shape: a hyphenated UUID (clients make a v4 per action).
/// Random keys make an accidental reuse by another request practically
/// impossible, so a reuse with a different body is a client bug worth 422.
pub const IDEMPOTENCY_KEY_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// Whether a key is acceptable: a hyphenated UUID.
pub fn valid_idempotency_key(k: &str) -> bool {
    k.len() == 36
        && k.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The `Idempotency-Key` header (checked by the middleware; recorded in the
/// audit log by the handlers).
#[derive(Debug, Clone, Default)]
pub struct IdemKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdemKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match parts.headers.get(IDEMPOTENCY_KEY) {
            None => Ok(IdemKey(None)),
            Some(v) => match v.to_str() {
                Ok(k) if valid_idempotency_key(k) => Ok(IdemKey(Some(k.to_string()))),
                _ => Err(ApiError::bad_request(
                    "invalid_header",
                    "Idempotency-Key must be a UUID",
                )),
            },
        }
    }
}

fn is_problem(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with(PROBLEM_JSON))
}

/// Every error leaves as problem+json, whoever produced it.
pub async fn problem_fallback(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if (status.is_client_error() || status.is_server_error()) && !is_problem(resp.headers()) {
        let allow = resp.headers().get(header::ALLOW).cloned();
        let retry = resp.headers().get(header::RETRY_AFTER).cloned();
        let mut out = ApiError::for_status(status).into_response();
        if let Some(a) = allow {
            out.headers_mut().insert(header::ALLOW, a);
        }
        if let Some(r) = retry {
            out.headers_mut().insert(header::RETRY_AFTER, r);
        }
        return out;
    }
    resp
}

/// Rebuild a response from stored parts.
pub fn stored_response(status: u16, content_type: Option<&str>, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(c).ok()) {
        resp.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    resp
}

/// A JSON body serialised into a buffer sized for it up front. axum's
/// `Json` starts at 128 bytes and doubles, copying a queue page (~20 KB)
/// seven times over; `capacity` is the caller's estimate.
pub struct SizedJson<T>(pub T, pub usize);

impl<T: serde::Serialize> IntoResponse for SizedJson<T> {
    fn into_response(self) -> Response {
        let mut buf = Vec::with_capacity(self.1);
        match serde_json::to_writer(&mut buf, &self.0) {
            Ok(()) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                buf,
            )
                .into_response(),
            // What axum's Json answers when serialising fails.
            Err(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                )],
                e.to_string(),
            )
                .into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_forms() {
        assert_eq!(parse_if_match("\"7\""), Some(Some(7)));
        assert_eq!(parse_if_match("W/\"7\""), Some(Some(7)));
        assert_eq!(parse_if_match("7"), Some(Some(7)));
        assert_eq!(parse_if_match("*"), Some(None));
        for bad in [
            "",
            "\"\"",
            "\"7",
            "W/7",
            "-1",
            "x",
            "\"1234567890123456789\"",
        ] {
            assert_eq!(parse_if_match(bad), None, "{bad}");
        }
    }

    #[test]
    fn idempotency_keys_are_uuids() {
        assert!(valid_idempotency_key(
            "0b7e2a52-8d4e-4c1e-9a51-2f3c1d6e7f80"
        ));
        assert!(!valid_idempotency_key(
            "0b7e2a52d8d4e-4c1e-9a51-2f3c1d6e7f80"
        ));
        assert!(!valid_idempotency_key("k-1"));
    }
}
