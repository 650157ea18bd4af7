//! The candidates' pages over plain HTTP, as a browser without JavaScript
//! uses them (forms, redirects, cookies by hand), and their defences:
//! CSRF and Origin, other candidates' images, CSP, escaping, rate limits,
//! caching, page weight.

use crate::common;
use crate::support::web;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{StatusCode, multipart};
use serde_json::json;

/// A browser without JavaScript: its cookies, by hand.
struct Plain {
    http: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Plain {
    fn new(base: &str) -> Plain {
        Plain {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.to_string(),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, h: &HeaderMap) {
        for v in h.get_all("set-cookie") {
            let s = v.to_str().expect("ascii cookie");
            let (kv, _) = s.split_once(';').unwrap_or((s, ""));
            let (k, val) = kv.split_once('=').expect("name=value");
            self.cookies.retain(|(n, _)| n != k);
            if !s.contains("Max-Age=0") {
                self.cookies.push((k.to_string(), val.to_string()));
            }
        }
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn origin(&self) -> HeaderValue {
        HeaderValue::from_str(&self.base).expect("origin")
    }

    async fn get(&mut self, path: &str) -> (StatusCode, HeaderMap, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("get");
        let (s, h) = (r.status(), r.headers().clone());
        self.keep(&h);
        (s, h, r.text().await.expect("text"))
    }

    async fn post_form(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("origin", self.origin())
            .form_body(form)
            .send()
            .await
            .expect("post");
        let (s, h) = (r.status(), r.headers().clone());
        self.keep(&h);
        (s, h, r.text().await.expect("text"))
    }

    async fn upload(
        &mut self,
        category: &str,
        slot: u8,
        csrf: &str,
        file: Vec<u8>,
    ) -> (StatusCode, String) {
        let form = multipart::Form::new()
            .text("csrf", csrf.to_string())
            .text("slot", slot.to_string())
            .part("file", multipart::Part::bytes(file).file_name("photo.jpg"));
        let r = self
            .http
            .post(format!("{}/materials/{category}/upload", self.base))
            .header("cookie", self.cookie_header())
            .header("origin", self.origin())
            .multipart(form)
            .send()
            .await
            .expect("upload");
        (r.status(), r.text().await.expect("text"))
    }

    /// Log in through the form; the session's CSRF token.
    async fn log_in(&mut self, reg_no: &str) -> String {
        let (s, _, html) = self.get("/").await;
        assert_eq!(s, StatusCode::OK);
        let pre = csrf_in(&html);
        let (s, h, _) = self
            .post_form(
                "/login",
                &[("csrf", &pre), ("reg_no", reg_no), ("password", "demo")],
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert_eq!(h["location"], "/materials");
        let (s, _, html) = self.get("/materials").await;
        assert_eq!(s, StatusCode::OK);
        csrf_in(&html)
    }
}

/// `application/x-www-form-urlencoded`, as a browser sends a form.
fn urlencoded(form: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    form.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

trait FormBody {
    fn form_body(self, form: &[(&str, &str)]) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_body(self, form: &[(&str, &str)]) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(urlencoded(form))
    }
}

fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..].split('"').next().expect("value").to_string()
}

fn small_jpeg() -> Vec<u8> {
    web::exif_jpeg(&web::document(900, 600, 1), 1, 80)
}

#[tokio::test]
async fn the_pages_work_without_javascript() {
    let ts = common::TestServer::start_demo(60).await;
    let (_, reg_no, _) = web::fresh_candidate(&ts.base_url).await;
    let mut p = Plain::new(&ts.base_url);

    // Wrong password: refused on the form, in Chinese.
    let (_, _, html) = p.get("/").await;
    assert!(html.contains("报名号") && html.contains("密码"));
    let pre = csrf_in(&html);
    let (s, _, html) = p
        .post_form(
            "/login",
            &[("csrf", &pre), ("reg_no", &reg_no), ("password", "nope")],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(html.contains("报名号或密码错误"));

    let csrf = p.log_in(&reg_no).await;
    let session = p.cookie("shenhe_session").expect("session cookie");
    assert!(session.len() >= 43);
    let (_, _, html) = p.get("/materials").await;
    assert!(html.contains(">身份证明 正面</label>") && html.contains(">身份证明 反面</label>"));
    assert!(html.contains("提交审核"));

    // Too large, sent by a form: the size and how to make it fit.
    let (photo, _) = web::phone_photo();
    let (s, html) = p.upload("ID_PROOF", 0, &csrf, photo).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        html.contains("文件太大（此文件 4.") && html.contains("MB）"),
        "{html}"
    );
    assert!(html.contains("长边 1600 像素") && html.contains("开启 JavaScript"));
    let (s, html) = p.upload("ID_PROOF", 0, &csrf, vec![0u8; 300_000]).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(html.contains("293 KB"), "{html}");
    let (s, html) = p
        .upload("ID_PROOF", 0, &csrf, b"GIF89a not an image".to_vec())
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("只接受 jpg/jpeg/png"));

    // A file that fits: stored, the page says so.
    for slot in [0, 1] {
        let (s, _) = p.upload("ID_PROOF", slot, &csrf, small_jpeg()).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
    }
    let (_, _, html) = p.get("/materials?done=upload").await;
    assert!(html.contains("上传成功"));
    assert!(!html.contains("身份证明 第3张") && html.matches("name=\"file\"").count() >= 2);
    let at = html.find("/images/").expect("an image") + 8;
    let id: String = html[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();

    // Delete: a confirmation page first, then the form.
    let (s, _, html) = p.get(&format!("/images/{id}/delete")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("确定删除") && html.contains(">删除</button>"));
    let (s, h, _) = p
        .post_form(&format!("/images/{id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(h["location"], "/materials?done=deleted");
    let (s, _) = p.upload("ID_PROOF", 0, &csrf, small_jpeg()).await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    // Submit: confirmation, then locked.
    let (_, _, html) = p.get("/submit").await;
    assert!(html.contains("确认提交审核"));
    let (s, _, _) = p.post_form("/submit", &[("csrf", &csrf)]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, html) = p.get("/materials").await;
    assert_eq!(
        html.matches("class=\"lock-badge\"").count(),
        2,
        "both locked"
    );
    assert!(!html.contains("class=\"minus\""));
    assert!(
        !html.contains("name=\"file\""),
        "nothing to upload while locked"
    );
    let (s, html) = p.upload("ID_PROOF", 0, &csrf, small_jpeg()).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(html.contains("已提交审核并锁定"));

    // Logout revokes: the old cookie no longer opens the page.
    let (s, _, _) = p.post_form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    p.cookies.push(("shenhe_session".into(), session));
    let (s, h, _) = p.get("/materials").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(h["location"], "/?expired=1");
    ts.shutdown().await;
}

#[tokio::test]
async fn forgeries_other_candidates_and_hostile_text_are_refused() {
    let ts = common::TestServer::start_demo(60).await;
    let base = ts.base_url.clone();
    let (cid, reg_no, token) = web::fresh_candidate(&base).await;
    let mut p = Plain::new(&base);
    let csrf = p.log_in(&reg_no).await;

    // Headers: the CSP and its friends on every page.
    for path in ["/", "/materials", "/static/app.js"] {
        let (_, h, _) = p.get(path).await;
        assert_eq!(
            h["content-security-policy"],
            "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
    let (_, h, _) = p.get("/materials").await;
    assert_eq!(h["cache-control"], "no-store");
    let set = ts.client.get(format!("{base}/")).send().await.expect("get");
    let c = set.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Strict"),
        "{c}"
    );

    // CSRF: a wrong token, a foreign Origin, no login cookie: refused.
    let (s, _) = p.upload("ID_PROOF", 0, "forged", small_jpeg()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = p.post_form("/submit", &[("csrf", "forged")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let r = p
        .http
        .post(format!("{base}/logout"))
        .header("cookie", p.cookie_header())
        .header("origin", "http://evil.example")
        .form_body(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "foreign origin");
    let r = p
        .http
        .post(format!("{base}/login"))
        .header("origin", p.origin())
        .form_body(&[
            ("csrf", "x"),
            ("reg_no", reg_no.as_str()),
            ("password", "demo"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "login without its cookie"
    );
    let (_, _, html) = p.get("/materials").await;
    assert!(html.contains("未提交"), "nothing was submitted");

    // Another candidate's image: 404, and it is still there.
    let site = ts.login("nanjing").await;
    let other = ts.candidates(&site, Some("pending")).await;
    let other = other
        .iter()
        .find(|c| c["id"] != cid)
        .expect("another candidate");
    let d: serde_json::Value = ts
        .get_json(&site, &format!("/api/v1/candidates/{}", other["id"]))
        .await;
    let theirs = web::images(&d)
        .into_iter()
        .find(|i| i["lock"] == "unlocked")
        .or_else(|| web::images(&d).into_iter().next())
        .expect("their image");
    let tid = theirs["id"].as_i64().expect("id");
    let (s, _, _) = p.get(&format!("/images/{tid}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = p.get(&format!("/images/{tid}/delete")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = p
        .post_form(&format!("/images/{tid}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let r = ts
        .get(&site, &format!("/api/v1/images/{tid}/content"))
        .await;
    assert_eq!(r.status(), StatusCode::OK, "their image is untouched");

    // A reviewer's hostile feedback: escaped, control characters visible.
    let hostile = "<img src=x onerror=alert(1)>\u{1b}[31m请补交\u{202e}";
    let r = ts
        .post_json(
            &site,
            &format!("/api/v1/candidates/{cid}/feedback"),
            &json!({"channel": "sms", "body": hostile}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
    let (_, _, html) = p.get("/materials").await;
    assert!(!html.contains("<img src=x"), "not markup");
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;␛[31m请补交\\u{202e}"),
        "escaped and sanitised"
    );

    // Caching: the script by ETag; a candidate's own image never stored.
    let (s, h, js) = p.get("/static/app.js?v=1").await;
    assert_eq!(s, StatusCode::OK);
    let etag = h["etag"].clone();
    let r = p
        .http
        .get(format!("{base}/static/app.js"))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let (_, _, css) = p.get("/static/app.css").await;
    let (_, _, page) = p.get("/materials").await;
    let weight = page.len() + js.len() + css.len();
    println!(
        "page weight: HTML {} + JS {} + CSS {} = {weight} bytes",
        page.len(),
        js.len(),
        css.len()
    );
    assert!(weight <= 60 * 1024, "page weight {weight}");
    let (s, _) = p.upload("ID_PROOF", 0, &csrf, small_jpeg()).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let me: serde_json::Value = ts.get_json(&token, "/api/v1/candidate/me").await;
    let mine = web::image_at(&me, "ID_PROOF", 0).expect("mine")["id"].clone();
    let (s, h, _) = p.get(&format!("/images/{mine}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["content-type"], "image/jpeg");

    // Upload rate limit (one upload above, 59 junk ones): the 61st waits.
    let mut last = StatusCode::OK;
    for _ in 1..shenhe::web::UPLOADS_PER_CANDIDATE {
        last = p.upload("ID_PROOF", 1, &csrf, b"junk".to_vec()).await.0;
        assert_ne!(last, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(last, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, html) = p.upload("ID_PROOF", 1, &csrf, b"junk".to_vec()).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(html.contains("上传过于频繁"));
    ts.shutdown().await;
}

#[tokio::test]
async fn a_retried_upload_is_replayed_not_repeated() {
    let ts = common::TestServer::start_demo(60).await;
    let (_, reg_no, token) = web::fresh_candidate(&ts.base_url).await;
    let mut p = Plain::new(&ts.base_url);
    let csrf = p.log_in(&reg_no).await;
    let key = "0b7e2a52-8d4e-4c1e-9a51-2f3c1d6e7f80";
    let bytes = small_jpeg();
    let mut answers = Vec::new();
    for _ in 0..2 {
        // As the page's script sends it: header token, JSON back.
        let form = multipart::Form::new().text("slot", "0").part(
            "file",
            multipart::Part::bytes(bytes.clone()).file_name("photo.jpg"),
        );
        let r = p
            .http
            .post(format!("{}/materials/DIPLOMA/upload", ts.base_url))
            .header("cookie", p.cookie_header())
            .header("origin", p.origin())
            .header("x-requested-with", "shenhe")
            .header("x-csrf-token", &csrf)
            .header("idempotency-key", key)
            .multipart(form)
            .send()
            .await
            .expect("upload");
        assert_eq!(r.status(), StatusCode::CREATED);
        let replayed = r.headers().contains_key("idempotent-replayed");
        let v: serde_json::Value = r.json().await.expect("json");
        answers.push((replayed, v));
    }
    assert!(!answers[0].0 && answers[1].0, "the second is a replay");
    assert_eq!(answers[0].1, answers[1].1);
    let me: serde_json::Value = ts.get_json(&token, "/api/v1/candidate/me").await;
    let dip = web::image_at(&me, "DIPLOMA", 0).expect("stored");
    assert_eq!(dip["generation"], 1, "uploaded once");
    assert!(web::image_at(&me, "DIPLOMA", 1).is_none());
    ts.shutdown().await;
}

#[tokio::test]
async fn outside_the_window_nothing_can_be_uploaded() {
    let today = chrono::Local::now().date_naive();
    let closed = shenhe::domain::rules::ReviewWindow {
        opens: today - chrono::Duration::days(40),
        closes: today - chrono::Duration::days(10),
    };
    let ts = common::TestServer::start_with(Some(60), closed).await;
    let site = ts.login("nanjing").await;
    let c = ts.candidates(&site, Some("not_started")).await;
    let reg_no = c[0]["reg_no"].as_str().expect("reg_no").to_string();
    let mut p = Plain::new(&ts.base_url);
    let csrf = p.log_in(&reg_no).await;
    let (_, _, html) = p.get("/materials").await;
    assert!(html.contains("不在审核期内"), "the window is said");
    assert!(!html.contains("name=\"file\""), "no file inputs");
    let (s, html) = p.upload("ID_PROOF", 0, &csrf, small_jpeg()).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(html.contains("不在审核期内，现在不能上传"));
    ts.shutdown().await;
}
