//! What the candidate is told must be true (issue 12): every undoable
//! reviewer action, at both levels, undone, leaves the candidate's view
//! (`/api/v1/candidate/me` and the materials page) exactly as it was before
//! the action; the final result shows only once the district has concluded,
//! on every path; the undo window is the server's and closes for good.

use crate::common;

use common::{TestServer, problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The candidate's page as a browser without JavaScript sees it.
struct Page {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Page {
    async fn log_in(base: &str, reg_no: &str) -> Page {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let r = http.get(format!("{base}/")).send().await.expect("get /");
        let pre_cookie = cookies(r.headers());
        let html = r.text().await.expect("html");
        let csrf = csrf_in(&html);
        let body = format!("csrf={csrf}&reg_no={reg_no}&password=demo");
        let r = http
            .post(format!("{base}/login"))
            .header("cookie", &pre_cookie)
            .header("origin", base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "page login");
        Page {
            http,
            base: base.to_string(),
            cookie: cookies(r.headers()),
        }
    }

    async fn html(&self) -> String {
        let r = self
            .http
            .get(format!("{}/materials", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("materials");
        assert_eq!(r.status(), StatusCode::OK);
        r.text().await.expect("html")
    }
}

fn cookies(h: &reqwest::header::HeaderMap) -> String {
    h.get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|s| s.split(';').next())
        .map(str::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..].split('"').next().expect("value").to_string()
}

/// One candidate as they see themselves: the API's view and the page.
struct Seen {
    token: String,
    page: Page,
}

impl Seen {
    async fn new(ts: &TestServer, reg_no: &str) -> Seen {
        Seen {
            token: ts.login_candidate(reg_no).await,
            page: Page::log_in(&ts.base_url, reg_no).await,
        }
    }

    async fn now(&self, ts: &TestServer) -> (Value, String) {
        let me: Value = ts.get_json(&self.token, "/api/v1/candidate/me").await;
        (me, self.page.html().await)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Unlock,
    Pending,
    Reject,
    Pass,
    Return,
}

/// Take `step` on candidate `cid` at `level`; the audit event's id.
async fn act(ts: &TestServer, token: &str, level: &str, cid: i64, step: Step) -> i64 {
    let r = match step {
        Step::Unlock => {
            let d: Value = ts
                .get_json(token, &format!("/api/v1/candidates/{cid}"))
                .await;
            let img = d["materials"]
                .as_array()
                .expect("materials")
                .iter()
                .flat_map(|m| m["images"].as_array().cloned().unwrap_or_default())
                .find(|i| i["lock"] == "locked")
                .expect("a locked image");
            ts.post_json(
                token,
                &format!("/api/v1/images/{}/unlock", img["id"]),
                &json!({"reasons": ["BLURRY"], "note": "请重新拍摄"}),
            )
            .await
        }
        _ => {
            let (decision, reasons) = match step {
                Step::Pending => ("pending", json!(["MAT_NONCOMPLIANT"])),
                Step::Reject => ("reject", json!(["INELIGIBLE"])),
                Step::Pass => ("pass", json!([])),
                _ => ("return", json!(["ONSITE"])),
            };
            ts.post_json(
                token,
                &format!("/api/v1/candidates/{cid}/decision"),
                &json!({"level": level, "decision": decision, "reasons": reasons, "note": "核对"}),
            )
            .await
        }
    };
    assert_eq!(r.status(), StatusCode::OK, "{step:?} at {level}");
    let v: Value = r.json().await.expect("json");
    v["audit_id"].as_i64().expect("audit_id")
}

async fn undo(ts: &TestServer, token: &str, audit_id: i64) {
    let r = ts
        .post_json(token, &format!("/api/v1/audit/{audit_id}/undo"), &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK, "undo {audit_id}");
}

/// The first candidate of `state` at the caller's level, as (id, reg_no).
async fn first(ts: &TestServer, token: &str, state: &str) -> (i64, String) {
    let list = ts.candidates(token, Some(state)).await;
    let c = list
        .first()
        .unwrap_or_else(|| panic!("no candidate {state}"));
    (
        c["id"].as_i64().expect("id"),
        c["reg_no"].as_str().expect("reg_no").to_string(),
    )
}

fn final_shown(html: &str) -> bool {
    html.contains("最终审核结果")
}

/// Act, look (it must show), undo, look again (as if it never happened).
async fn round_trip(
    ts: &TestServer,
    token: &str,
    level: &str,
    cid: i64,
    seen: &Seen,
    step: Step,
) -> (Value, String) {
    let before = seen.now(ts).await;
    let event = act(ts, token, level, cid, step).await;
    let during = seen.now(ts).await;
    assert_ne!(
        during, before,
        "{step:?} at {level}: the candidate should see something change"
    );
    undo(ts, token, event).await;
    let after = seen.now(ts).await;
    assert_eq!(
        after.0, before.0,
        "{step:?} at {level}: /candidate/me after the undo differs from before"
    );
    assert_eq!(
        after.1, before.1,
        "{step:?} at {level}: the page after the undo differs from before"
    );
    during
}

#[tokio::test]
async fn every_undo_path_leaves_the_candidate_as_before() {
    let ts = TestServer::start_demo(40).await;
    let site = ts.login("nanjing").await;
    let district = ts.login("jiangsu").await;

    // The site level, one candidate awaiting it, each action in turn.
    let (cid, reg_no) = first(&ts, &site, "awaiting_review").await;
    let seen = Seen::new(&ts, &reg_no).await;
    for step in [Step::Unlock, Step::Pending, Step::Reject, Step::Pass] {
        let (me, html) = round_trip(&ts, &site, "site", cid, &seen, step).await;
        match step {
            Step::Unlock | Step::Pending => {
                let msg = me["feedback"][0]["body"].as_str().expect("a message");
                assert!(msg.starts_with("考点审核"), "{msg}");
            }
            // A site's rejection is final: nothing follows it.
            Step::Reject => {
                assert_eq!(me["status"], "rejected");
                assert!(final_shown(&html));
            }
            // A site's pass is not the result: the district reviews next.
            Step::Pass => {
                assert_eq!(me["status"], "awaiting_review");
                assert!(!final_shown(&html), "final result before the district");
            }
            Step::Return => unreachable!(),
        }
    }

    // The district level, one candidate the site has passed.
    let (cid, reg_no) = first(&ts, &district, "awaiting_review").await;
    let seen = Seen::new(&ts, &reg_no).await;
    for step in [
        Step::Unlock,
        Step::Pending,
        Step::Reject,
        Step::Pass,
        Step::Return,
    ] {
        let (me, html) = round_trip(&ts, &district, "district", cid, &seen, step).await;
        match step {
            Step::Unlock | Step::Pending => {
                let msg = me["feedback"][0]["body"].as_str().expect("a message");
                assert!(msg.starts_with("考区审核"), "{msg}");
                assert!(!final_shown(&html));
            }
            Step::Reject => {
                assert_eq!(me["status"], "rejected");
                assert!(html.contains("最终审核结果：<strong>审核不通过"), "{html}");
            }
            Step::Pass => {
                assert_eq!(me["status"], "passed");
                assert!(html.contains("最终审核结果：<strong>审核通过"));
            }
            // Sent back to the site: under review again, no result.
            Step::Return => {
                assert_eq!(me["status"], "awaiting_review");
                assert!(!final_shown(&html));
            }
        }
    }
    ts.shutdown().await;
}

/// The reviewer's dossier no longer lists a withdrawn message either; the
/// audit trail keeps the whole story (the event and its undo).
#[tokio::test]
async fn withdrawn_messages_leave_the_dossier_but_not_the_trail() {
    let ts = TestServer::start_demo(24).await;
    let site = ts.login("nanjing").await;
    let (cid, _) = first(&ts, &site, "awaiting_review").await;
    let path = format!("/api/v1/candidates/{cid}");
    let before: Value = ts.get_json(&site, &path).await;
    let event = act(&ts, &site, "site", cid, Step::Pending).await;
    let during: Value = ts.get_json(&site, &path).await;
    assert_eq!(
        during["feedback"].as_array().map(Vec::len),
        before["feedback"].as_array().map(|f| f.len() + 1)
    );
    undo(&ts, &site, event).await;
    let after: Value = ts.get_json(&site, &path).await;
    assert_eq!(after["feedback"], before["feedback"]);
    let audit: Value = ts.get_json(&site, &format!("{path}/audit")).await;
    let items = audit["items"].as_array().expect("items");
    let decided = items.iter().find(|e| e["id"] == event).expect("the event");
    assert!(decided["undone_by"].is_i64(), "{decided}");
    ts.shutdown().await;
}

/// The seed's rule, on every path: the final result only once the district
/// has concluded; return to the site, re-review and undo keep it hidden.
#[tokio::test]
async fn the_final_result_waits_for_the_district_on_every_path() {
    let ts = TestServer::start_demo(40).await;
    let site = ts.login("nanjing").await;
    let district = ts.login("jiangsu").await;
    let (cid, reg_no) = first(&ts, &site, "awaiting_review").await;
    let seen = Seen::new(&ts, &reg_no).await;
    let status = |me: &Value| me["status"].as_str().unwrap_or("").to_string();

    // Site passes: under review (at the district), no result.
    act(&ts, &site, "site", cid, Step::Pass).await;
    let (me, html) = seen.now(&ts).await;
    assert_eq!(status(&me), "awaiting_review");
    assert!(!final_shown(&html));

    // The district returns it to the site: still no result.
    act(&ts, &district, "district", cid, Step::Return).await;
    let (me, html) = seen.now(&ts).await;
    assert_eq!(status(&me), "awaiting_review");
    assert!(!final_shown(&html));

    // The site passes again; the district sets 审核待定.
    act(&ts, &site, "site", cid, Step::Pass).await;
    act(&ts, &district, "district", cid, Step::Pending).await;
    let (me, html) = seen.now(&ts).await;
    assert_eq!(status(&me), "pending");
    assert!(!final_shown(&html));

    // Re-review: the candidate resubmits; under review, no result.
    let r = ts
        .post_json(&seen.token, "/api/v1/candidate/submit", &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK, "resubmit");
    let (me, html) = seen.now(&ts).await;
    assert_eq!(status(&me), "awaiting_review");
    assert!(!final_shown(&html));

    // The district passes: now, and only now, the result.
    let pass = act(&ts, &district, "district", cid, Step::Pass).await;
    let (me, html) = seen.now(&ts).await;
    assert_eq!(status(&me), "passed");
    assert!(final_shown(&html));

    // Undone: gone again.
    undo(&ts, &district, pass).await;
    let (me, html) = seen.now(&ts).await;
    assert_eq!(status(&me), "awaiting_review");
    assert!(!final_shown(&html));
    ts.shutdown().await;
}

/// The window is the server's: once it has closed, undo is refused and the
/// action is final; the words say so.
#[tokio::test]
async fn undo_is_refused_once_the_window_has_closed() {
    let ts = TestServer::start_custom(Some(24), common::open_window(), |c| {
        c.undo_window = chrono::Duration::seconds(1);
    })
    .await;
    let site = ts.login("nanjing").await;
    let me: Value = ts.get_json(&site, "/api/v1/me").await;
    assert_eq!(me["undo_window_secs"], 1);
    let (cid, _) = first(&ts, &site, "awaiting_review").await;
    let event = act(&ts, &site, "site", cid, Step::Reject).await;
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let r = ts
        .post_json(&site, &format!("/api/v1/audit/{event}/undo"), &json!({}))
        .await;
    problem(r, 409, "undo_window_closed").await;

    // While the reviewer stays on the candidate, the window stays open;
    // leaving and coming back does not reopen it.
    let (cid, _) = first(&ts, &site, "awaiting_review").await;
    let claim = format!("/api/v1/candidates/{cid}/claim");
    assert_eq!(
        ts.post_json(&site, &claim, &json!({})).await.status(),
        StatusCode::OK
    );
    let kept = act(&ts, &site, "site", cid, Step::Unlock).await;
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    undo(&ts, &site, kept).await;
    let left = act(&ts, &site, "site", cid, Step::Unlock).await;
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    assert_eq!(
        ts.delete(&site, &claim).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        ts.post_json(&site, &claim, &json!({})).await.status(),
        StatusCode::OK
    );
    let r = ts
        .post_json(&site, &format!("/api/v1/audit/{left}/undo"), &json!({}))
        .await;
    problem(r, 409, "undo_window_closed").await;
    ts.shutdown().await;
}
