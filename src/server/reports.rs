//! Handlers of the two reports: the follow-up list (`POST`: writing it
//! makes the listed actions final) and the overview of a scope.

use axum::extract::State;
use chrono::Utc;

use super::AppState;
use super::auth::Reviewer;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use crate::api::reports::{FollowUpList, FollowUpRequest, StatsQuery, StatsResponse};
use crate::domain::review::ReviewStatus;

/// The follow-up list: the candidates of a state in the caller's scope with
/// the phone number, the decision's reasons and note, and the images to
/// replace. Only actions past their undo window are listed (`withheld`
/// counts the others); once listed, they can no longer be undone.
#[utoipa::path(post, path = "/api/v1/follow-up", tag = "reviewer", security(("bearer" = [])),
    request_body = FollowUpRequest,
    responses(
        (status = 200, description = "The list", body = FollowUpList),
        (status = 400, description = "`invalid_query`: an unknown state", body = crate::api::dto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn follow_up(
    State(st): State<AppState>,
    r: Reviewer,
    // An object first: serde would take `[]` for a struct of options.
    ApiJson(body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<axum::Json<FollowUpList>, ApiError> {
    let req: FollowUpRequest = serde_json::from_value(serde_json::Value::Object(body))
        .map_err(|e| ApiError::unprocessable("invalid_field", e.to_string()))?;
    let state = match req.state.as_deref() {
        None => ReviewStatus::Pending,
        Some(s) => ReviewStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request("invalid_query", format!("unknown state {s:?}"))
        })?,
    };
    Ok(axum::Json(
        st.store.follow_up(&r.info, state, Utc::now()).await?,
    ))
}

/// The overview of the caller's scope, per site: counts at both levels,
/// awaiting items older than `stale_days`, decisions a day over the last
/// week, the days left in the review window and whether the pace meets it.
#[utoipa::path(get, path = "/api/v1/stats", tag = "reviewer", security(("bearer" = [])),
    params(StatsQuery),
    responses((status = 200, description = "The overview", body = StatsResponse)))]
pub async fn stats(
    State(st): State<AppState>,
    r: Reviewer,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<axum::Json<StatsResponse>, ApiError> {
    let stale_days = q.stale_days.unwrap_or(3);
    if stale_days > 365 {
        return Err(ApiError::bad_request(
            "invalid_query",
            "stale_days is at most 365",
        ));
    }
    Ok(axum::Json(
        st.store
            .stats(&r.info, stale_days, &st.window, Utc::now())
            .await?,
    ))
}
