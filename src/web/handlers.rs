//! The routes of the pages: login and logout, the materials page, the
//! candidate's own images, delete and submit (each with a confirmation
//! page for browsers without JavaScript). Uploads are in [`super::upload`].

use std::net::SocketAddr;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::Markup;
use serde::Deserialize;

use super::WebState;
use super::pages;
use super::refusal;
use super::session::{self, CSRF_HEADER, LOGIN_COOKIE, NoSession, SESSION_COOKIE, Tls, WebSession};
use crate::api::dto::CandidateSelf;
use crate::server::auth;
use crate::server::error::ApiError;
use crate::server::extract::IdemKey;
use crate::server::store::{Ctx, Subject};

/// An HTML page with its status.
pub fn page(status: StatusCode, m: Markup) -> Response {
    let mut r = (status, m.into_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// 303 See Other: after a form, the browser GETs the result.
pub fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The page's script asks with this header and gets JSON back.
pub fn scripted(headers: &HeaderMap) -> bool {
    headers.get("x-requested-with").is_some()
}

/// A JSON answer for the script: `{"ok": true}` or `{"error": "…"}`.
pub fn json(status: StatusCode, v: serde_json::Value) -> Response {
    (status, axum::Json(v)).into_response()
}

pub fn json_error(status: StatusCode, msg: &str, retry: bool) -> Response {
    json(status, serde_json::json!({"error": msg, "retry": retry}))
}

fn not_found_page() -> Response {
    page(
        StatusCode::NOT_FOUND,
        pages::error("找不到页面", "没有这个页面或图片。"),
    )
}

/// Where an unsigned-in request goes.
pub fn to_login(why: NoSession, headers: &HeaderMap) -> Response {
    if scripted(headers) {
        return json_error(StatusCode::UNAUTHORIZED, "登录已过期，请重新登录。", false);
    }
    match why {
        NoSession::Expired => see_other("/?expired=1"),
        NoSession::Absent => see_other("/"),
        NoSession::Broken => page(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::error("暂时无法访问", "服务器暂时无法处理，请稍后重试。"),
        ),
    }
}

/// A POST passes: same origin, and the session's CSRF token in the form
/// field or (from the script) the header.
pub fn check_post(s: &WebSession, headers: &HeaderMap, field: Option<&str>) -> bool {
    let given = field.or_else(|| headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()));
    session::same_origin(headers) && given.is_some_and(|g| session::same(g, &s.csrf))
}

pub fn csrf_refused(headers: &HeaderMap) -> Response {
    let msg = "页面已过期或来源不明，请刷新页面后再操作。";
    if scripted(headers) {
        json_error(StatusCode::FORBIDDEN, msg, false)
    } else {
        page(StatusCode::FORBIDDEN, pages::error("操作未完成", msg))
    }
}

pub fn secure_cookie(tls: Option<axum::Extension<Tls>>, headers: &HeaderMap) -> bool {
    session::secure(tls.is_some(), headers)
}

pub async fn load_me(st: &WebState, id: i64) -> Result<CandidateSelf, ApiError> {
    Ok(st
        .app
        .store
        .candidate_self(id, &st.app.window, Utc::now())
        .await?)
}

/// The materials page, whole (also for a refused form without JS).
pub async fn materials_page(
    st: &WebState,
    s: &WebSession,
    status: StatusCode,
    flash: Option<&str>,
    error: Option<&str>,
) -> Response {
    let me = load_me(st, s.candidate_id).await;
    let reviews = st.app.store.candidate_reviews(s.candidate_id).await;
    match (me, reviews) {
        (Ok(me), Ok(reviews)) => page(
            status,
            pages::materials(&me, reviews, &s.csrf, flash, error),
        ),
        _ => page(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::error("暂时无法访问", "服务器暂时无法处理，请稍后重试。"),
        ),
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    expired: Option<String>,
}

/// `GET /`: the login form, or the materials page when signed in.
pub async fn login_page(
    State(st): State<WebState>,
    tls: Option<axum::Extension<Tls>>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    if session::resolve(&st.app, &headers).await.is_ok() {
        return see_other("/materials");
    }
    let notice = q.expired.map(|_| "登录已过期，请重新登录。");
    login_form(
        &headers,
        secure_cookie(tls, &headers),
        StatusCode::OK,
        None,
        notice,
        "",
    )
}

fn login_form(
    headers: &HeaderMap,
    secure: bool,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
    reg_no: &str,
) -> Response {
    let token = session::cookie(headers, LOGIN_COOKIE)
        .map(str::to_string)
        .unwrap_or_else(session::random_token);
    let mut r = page(status, pages::login(&token, error, notice, reg_no));
    if let Some(c) = session::set_cookie(LOGIN_COOKIE, &token, 3600, secure) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    csrf: String,
    reg_no: String,
    password: String,
}

/// `POST /login`: the same credentials and failure limit as the API.
pub async fn login(
    State(st): State<WebState>,
    tls: Option<axum::Extension<Tls>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let secure = secure_cookie(tls, &headers);
    let Ok(Form(f)) = form else {
        return login_form(
            &headers,
            secure,
            StatusCode::BAD_REQUEST,
            Some("请填写报名号和密码。"),
            None,
            "",
        );
    };
    let reg_no = f.reg_no.trim().to_string();
    let pre = session::cookie(&headers, LOGIN_COOKIE);
    if !session::same_origin(&headers) || !pre.is_some_and(|p| session::same(p, &f.csrf)) {
        return login_form(
            &headers,
            secure,
            StatusCode::FORBIDDEN,
            Some("页面已过期，请重新登录。"),
            None,
            &reg_no,
        );
    }
    let ip = peer.ip();
    let key = format!("candidate:{reg_no}");
    // A database that cannot answer this fails the credentials lookup next,
    // which says so in the page.
    if let Some(wait) = st.app.limiter.check(&key, ip).await.unwrap_or(None) {
        let msg = format!("登录失败次数过多，请 {wait} 秒后再试。");
        let mut r = login_form(
            &headers,
            secure,
            StatusCode::TOO_MANY_REQUESTS,
            Some(&msg),
            None,
            &reg_no,
        );
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let found = match st.app.store.candidate_credentials(&reg_no).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "candidate login lookup failed");
            return login_form(
                &headers,
                secure,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("服务器暂时无法处理，请稍后重试。"),
                None,
                &reg_no,
            );
        }
    };
    let hash = found
        .as_ref()
        .map_or_else(|| st.app.dummy_hash.clone(), |c| c.password_hash.clone());
    let ok = auth::verify_password_blocking(f.password, hash).await;
    let Some(cand) = found.filter(|_| ok) else {
        if let Err(e) = st.app.limiter.fail(&key, ip).await {
            tracing::warn!(error = %e, "login rate limit: recording");
        }
        tracing::info!(%ip, "candidate web login failed");
        return login_form(
            &headers,
            secure,
            StatusCode::UNAUTHORIZED,
            Some("报名号或密码错误。"),
            None,
            &reg_no,
        );
    };
    if let Err(e) = st.app.limiter.succeed(&key, ip).await {
        tracing::warn!(error = %e, "login rate limit: recording");
    }
    let (token, token_hash) = auth::new_token();
    let now = Utc::now();
    if let Err(e) = st
        .app
        .store
        .insert_token(
            &token_hash,
            Subject::Candidate(cand.id),
            now,
            now + auth::CANDIDATE_TOKEN_TTL,
        )
        .await
    {
        tracing::warn!(error = %e, "cannot store a candidate session");
        return login_form(
            &headers,
            secure,
            StatusCode::SERVICE_UNAVAILABLE,
            Some("服务器暂时无法处理，请稍后重试。"),
            None,
            &reg_no,
        );
    }
    let mut r = see_other("/materials");
    let h = r.headers_mut();
    let ttl = auth::CANDIDATE_TOKEN_TTL.num_seconds();
    if let Some(c) = session::set_cookie(SESSION_COOKIE, &token, ttl, secure) {
        h.append(header::SET_COOKIE, c);
    }
    if let Some(c) = session::set_cookie(LOGIN_COOKIE, "", 0, secure) {
        h.append(header::SET_COOKIE, c);
    }
    r
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

/// `POST /logout`: the token is revoked, not only forgotten by the browser.
pub async fn logout(
    State(st): State<WebState>,
    tls: Option<axum::Extension<Tls>>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let s = match session::resolve(&st.app, &headers).await {
        Ok(s) => s,
        Err(why) => return to_login(why, &headers),
    };
    let field = form.ok().and_then(|Form(f)| f.csrf);
    if !check_post(&s, &headers, field.as_deref()) {
        return csrf_refused(&headers);
    }
    if let Err(e) = st.app.store.revoke_token(&s.token_hash).await {
        tracing::warn!(error = %e, "cannot revoke a candidate session");
    }
    let mut r = see_other("/");
    if let Some(c) = session::set_cookie(SESSION_COOKIE, "", 0, secure_cookie(tls, &headers)) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// `GET /materials`.
pub async fn materials(
    State(st): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Response {
    let s = match session::resolve(&st.app, &headers).await {
        Ok(s) => s,
        Err(why) => return to_login(why, &headers),
    };
    // Fixed texts only: nothing from the query reaches the page.
    let flash = match q.done.as_deref() {
        Some("upload") => Some("上传成功。"),
        Some("deleted") => Some("已删除，可重新上传。"),
        Some("submitted") => Some("已提交审核，图片已锁定。"),
        _ => None,
    };
    materials_page(&st, &s, StatusCode::OK, flash, None).await
}

/// `GET /images/{id}`: one of the candidate's own images; any other id is
/// 404, whoever's it is.
pub async fn image(
    State(st): State<WebState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = match session::resolve(&st.app, &headers).await {
        Ok(s) => s,
        Err(why) => return to_login(why, &headers),
    };
    let Ok(id) = id.parse::<i64>() else {
        return not_found_page();
    };
    match st.app.store.candidate_blob(s.candidate_id, id).await {
        Ok(blob) => crate::server::routes::image_response(&st.app, &headers, blob)
            .await
            .unwrap_or_else(|e| e.into_response()),
        Err(_) => not_found_page(),
    }
}

/// The candidate's own image `id`, with its slot's name, if it exists.
async fn own_image(st: &WebState, s: &WebSession, id: &str) -> Option<(CandidateSelf, String)> {
    let id = id.parse::<i64>().ok()?;
    let me = load_me(st, s.candidate_id).await.ok()?;
    let label = me
        .materials
        .iter()
        .flat_map(|m| m.images.iter())
        .find(|i| i.id == id)
        .map(|i| crate::server::messages::material_label(i.category, i.slot))?;
    Some((me, label))
}

/// `GET /images/{id}/delete`: "确定删除…？" for browsers without JS.
pub async fn delete_page(
    State(st): State<WebState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = match session::resolve(&st.app, &headers).await {
        Ok(s) => s,
        Err(why) => return to_login(why, &headers),
    };
    match own_image(&st, &s, &id).await {
        Some((me, label)) => page(
            StatusCode::OK,
            pages::confirm(
                &me,
                &s.csrf,
                &format!("确定删除{label}这张图片吗？删除后可以重新上传。"),
                &format!("/images/{id}/delete"),
                "删除",
            ),
        ),
        None => not_found_page(),
    }
}

/// `POST /images/{id}/delete`.
pub async fn delete(
    State(st): State<WebState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let s = match session::resolve(&st.app, &headers).await {
        Ok(s) => s,
        Err(why) => return to_login(why, &headers),
    };
    let field = form.ok().and_then(|Form(f)| f.csrf);
    if !check_post(&s, &headers, field.as_deref()) {
        return csrf_refused(&headers);
    }
    let result = match id.parse::<i64>() {
        Ok(id) => {
            crate::server::candidate::remove_image(&st.app, s.candidate_id, id, IdemKey(None)).await
        }
        Err(_) => Err(ApiError::not_found()),
    };
    finish(&st, &s, &headers, result.map(|_| ()), "deleted").await
}

/// `GET /submit`: "确认提交审核？" for browsers without JS.
pub async fn submit_page(State(st): State<WebState>, headers: HeaderMap) -> Response {
    let s = match session::resolve(&st.app, &headers).await {
        Ok(s) => s,
        Err(why) => return to_login(why, &headers),
    };
    match load_me(&st, s.candidate_id).await {
        Ok(me) => page(
            StatusCode::OK,
            pages::confirm(
                &me,
                &s.csrf,
                "确认提交审核吗？提交后所有图片将锁定（已锁定），审核期间不能修改。",
                "/submit",
                "提交审核",
            ),
        ),
        Err(_) => not_found_page(),
    }
}

/// `POST /submit`: every image is locked (已锁定).
pub async fn submit(
    State(st): State<WebState>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let s = match session::resolve(&st.app, &headers).await {
        Ok(s) => s,
        Err(why) => return to_login(why, &headers),
    };
    let field = form.ok().and_then(|Form(f)| f.csrf);
    if !check_post(&s, &headers, field.as_deref()) {
        return csrf_refused(&headers);
    }
    let ctx = Ctx {
        now: Utc::now(),
        idempotency_key: None,
        expected_version: None,
        replay: None,
    };
    let result = match st
        .app
        .store
        .submit(s.candidate_id, &st.app.window, ctx)
        .await
    {
        Ok((_, change)) => {
            st.app.events.publish(change);
            Ok(())
        }
        Err(e) => Err(ApiError::from(e)),
    };
    finish(&st, &s, &headers, result, "submitted").await
}

/// The answer to a delete or submit: JSON for the script; for a form, the
/// page again (with the refusal) or a redirect to it.
async fn finish(
    st: &WebState,
    s: &WebSession,
    headers: &HeaderMap,
    result: Result<(), ApiError>,
    done: &str,
) -> Response {
    match result {
        Ok(()) if scripted(headers) => json(StatusCode::OK, serde_json::json!({"ok": true})),
        Ok(()) => see_other(&format!("/materials?done={done}")),
        Err(e) => {
            let msg = refusal::general(&e);
            if scripted(headers) {
                json_error(e.status, &msg, e.status.is_server_error())
            } else {
                materials_page(st, s, e.status, None, Some(&msg)).await
            }
        }
    }
}
