//! The OpenAPI document, generated from the handlers and the DTOs, served
//! at `/api/v1/openapi.json` and committed as `openapi.json`.

use std::sync::OnceLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, Required, ResponseBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{Modify, OpenApi};

use crate::domain::audit::MAX_FEEDBACK_CHARS;
use crate::domain::reason::{MAX_NOTE_CHARS, ReasonTarget, reasons_for};
use crate::domain::review::ReviewStatus;

use super::{candidate, reports, routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "shenhe registration review API",
        version = "1.0.0",
        description = "The contract between the 审核台 console and the registration backend. \
            Errors are RFC 9457 problem+json with a stable `code`. Mutating calls accept \
            an `Idempotency-Key` header (a UUID; see each operation's `x-idempotency-key`) \
            and an expected version (`If-Match` or `expected_version`)."
    ),
    paths(
        routes::health,
        routes::reason_codes,
        routes::material_categories,
        routes::login,
        routes::logout,
        routes::me,
        routes::list_candidates,
        routes::candidate,
        routes::image_content,
        routes::lock_image,
        routes::unlock_image,
        routes::decide,
        routes::claim,
        routes::release,
        routes::feedback,
        routes::audit,
        routes::reveal,
        routes::undo,
        routes::events,
        reports::follow_up,
        reports::stats,
        candidate::login,
        candidate::logout,
        candidate::me,
        candidate::upload,
        candidate::delete_image,
        candidate::submit,
        candidate::image_content,
    ),
    components(schemas(
        crate::api::dto::Problem,
        crate::api::dto::QueueEvent,
        crate::api::dto::EventStreamMessage
    )),
    modifiers(&Standard),
    tags(
        (name = "meta", description = "Health and reference data"),
        (name = "session", description = "Reviewer sessions"),
        (name = "reviewer", description = "The review queue and its actions"),
        (name = "candidate", description = "The candidates' upload side"),
    )
)]
pub struct ApiDoc;

/// What every operation shares: the bearer scheme, the problem responses
/// any route can give, and the concurrency headers of mutating calls.
struct Standard;

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

fn header_param(name: &str, description: &str, pattern: &str) -> Parameter {
    let schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern));
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn ensure(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| problem(description).into());
}

impl Modify for Standard {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The token from POST /api/v1/session (or the candidate session)",
                    ))
                    .build(),
            ),
        );
        refine_bodies(components);
        for (path, item) in api.paths.paths.iter_mut() {
            if path == "/api/v1/candidates"
                && let Some(op) = item.get.as_mut()
            {
                refine_queue_params(op);
            }
            let login = path.ends_with("/session");
            let has_path_params = path.contains('{');
            let ops: [(&mut Option<Operation>, bool); 4] = [
                (&mut item.get, false),
                (&mut item.post, true),
                (&mut item.put, true),
                (&mut item.delete, true),
            ];
            for (op, mutating) in ops {
                let Some(op) = op.as_mut() else { continue };
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                ensure(
                    op,
                    "400",
                    "`bad_request`, `malformed_json`, `invalid_query`, `invalid_cursor`, `invalid_header`, `invalid_multipart`",
                );
                if secured {
                    ensure(op, "401", "`unauthorized` or `token_expired`");
                }
                if has_path_params || secured {
                    ensure(op, "404", "`not_found`: absent or outside your scope");
                }
                ensure(op, "405", "`method_not_allowed`");
                ensure(op, "408", "`request_timeout`");
                ensure(op, "413", "`payload_too_large`");
                ensure(op, "415", "`unsupported_media_type`");
                ensure(
                    op,
                    "422",
                    "A body or field with an impossible value (see `code`)",
                );
                ensure(op, "500", "`internal`");
                if mutating && !login {
                    ensure(op, "409", "A conflict with the current state (see `code`)");
                    // Idempotency-Key is described, not declared as a
                    // parameter: a fuzzer that reuses one generated key
                    // for different bodies would (rightly) get 422
                    // idempotency_key_reused and call it a rejected valid
                    // request. Tools read this extension instead.
                    let ext = op.extensions.get_or_insert_with(Default::default);
                    ext.merge(
                        utoipa::openapi::extensions::ExtensionsBuilder::new()
                            .add(
                                "x-idempotency-key",
                                json!({
                                    "header": "Idempotency-Key",
                                    "pattern": crate::server::extract::IDEMPOTENCY_KEY_PATTERN,
                                    "description": "Optional. A UUID naming this action: a retry with the same key (same caller, method and path) returns the first successful response; the same key with a different body gets 422 idempotency_key_reused; a key that is not a UUID gets 400 invalid_header.",
                                }),
                            )
                            .build(),
                    );
                    let params = op.parameters.get_or_insert_with(Vec::new);
                    let versioned = ["/lock", "/unlock", "/decision", "/undo"]
                        .iter()
                        .any(|s| path.ends_with(s));
                    if versioned {
                        params.push(header_param(
                            "If-Match",
                            "The expected version (image version for image actions, candidate version otherwise)",
                            crate::server::extract::IF_MATCH_PATTERN,
                        ));
                    }
                }
            }
        }
    }
}

fn schema(v: serde_json::Value) -> Option<RefOr<Schema>> {
    match serde_json::from_value(v) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(error = %e, "a hand-written schema does not parse");
            None
        }
    }
}

fn codes(target: ReasonTarget) -> Vec<&'static str> {
    // OTHER (with a note) is accepted too, but a schema cannot say "a note
    // when OTHER"; it is described, not enumerated.
    reasons_for(target)
        .filter(|r| !r.note_required)
        .map(|r| r.code)
        .collect()
}

/// Request bodies whose rules are finer than the Rust types: reasons from
/// the presets, at least one where the decision needs them, note and
/// feedback lengths. The generated spec then admits exactly what the
/// server accepts.
fn refine_bodies(components: &mut utoipa::openapi::Components) {
    let note = json!({"type": ["string", "null"], "maxLength": MAX_NOTE_CHARS,
        "description": "Free text; required (non-blank) with reason OTHER"});
    let version = json!({"type": ["integer", "null"], "format": "int64",
        "description": "The version the caller saw (or send If-Match)"});
    let image = codes(ReasonTarget::Image);
    let cand = codes(ReasonTarget::Candidate);
    let mut put = |name: &str, v: serde_json::Value| {
        if let Some(s) = schema(v) {
            components.schemas.insert(name.to_string(), s);
        }
    };
    put(
        "UnlockRequest",
        json!({
            "type": "object",
            "required": ["reasons"],
            "properties": {
                "reasons": {"type": "array", "minItems": 1, "uniqueItems": true,
                    "items": {"type": "string", "enum": image},
                    "description": "Image reason codes, at least one (OTHER with a note is also accepted)"},
                "note": note,
                "expected_version": version,
            }
        }),
    );
    let levels = json!({"type": "string", "enum": ["site", "district"]});
    put(
        "DecisionRequest",
        json!({
            "oneOf": [
                {
                    "type": "object",
                    "required": ["level", "decision"],
                    "properties": {
                        "level": levels,
                        "decision": {"type": "string", "enum": ["pass"]},
                        "reasons": {"type": "array", "uniqueItems": true,
                            "items": {"type": "string", "enum": cand}},
                        "note": note,
                        "expected_version": version,
                    }
                },
                {
                    "type": "object",
                    "required": ["level", "decision", "reasons"],
                    "properties": {
                        "level": levels,
                        "decision": {"type": "string", "enum": ["pending", "reject", "return"]},
                        "reasons": {"type": "array", "minItems": 1, "uniqueItems": true,
                            "items": {"type": "string", "enum": cand},
                            "description": "Candidate reason codes, at least one (OTHER with a note is also accepted)"},
                        "note": note,
                        "expected_version": version,
                    }
                }
            ]
        }),
    );
    put(
        "UploadForm",
        json!({
            "type": "object",
            "required": ["file"],
            "additionalProperties": false,
            "properties": {
                "file": {"type": "string", "format": "binary",
                    "description": "The image: JPEG or PNG by content, at most 204,800 bytes"},
                "slot": {"type": "string", "pattern": "^[0-9]$",
                    "description": "0-based slot (身份证明: 0 正面, 1 反面); default: the first empty slot, or the only unlocked image"},
            }
        }),
    );
    put(
        "FeedbackRequest",
        json!({
            "type": "object",
            "required": ["channel", "body"],
            "properties": {
                "channel": {"type": "string", "enum": ["system", "sms", "phone"]},
                "body": {"type": "string", "minLength": 1, "maxLength": MAX_FEEDBACK_CHARS,
                    "pattern": "\\S", "description": "Not blank"},
            }
        }),
    );
}

/// The queue's query parameters, with their ranges.
fn refine_queue_params(op: &mut Operation) {
    let states: Vec<&str> = ReviewStatus::ALL.iter().map(|s| s.as_str()).collect();
    for p in op.parameters.iter_mut().flatten() {
        let s = match p.name.as_str() {
            "limit" => json!({"type": "integer", "minimum": 1, "maximum": 500}),
            "state" => json!({"type": "string", "enum": states}),
            "cursor" => json!({"type": "string", "pattern": routes::CURSOR_PATTERN}),
            _ => continue,
        };
        p.schema = schema(s);
    }
}

/// The document as pretty JSON (what is committed as `openapi.json`).
pub fn spec_json() -> String {
    let mut s = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

pub async fn serve_spec() -> Response {
    static SPEC: OnceLock<String> = OnceLock::new();
    let body = SPEC.get_or_init(spec_json).clone();
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
