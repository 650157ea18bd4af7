//! The screens on ratatui's TestBackend, at 80×24, 120×40 and 200×55, in zh-CN and
//! en. Images are a placeholder here (the images engine draws them live).

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use shenhe::api::dto::Problem;
use shenhe::api::error::ApiError;
use shenhe::app::action::Action;
use shenhe::app::fixtures as fx;
use shenhe::app::keys::{Command, KeyAction};
use shenhe::app::state::{ClaimState, Screen, State, Status, StatusKind, StatusMsg};
use shenhe::app::update;
use shenhe::config::ThemeName;
use shenhe::lang::Lang;
use shenhe::ui::{self, Placeholder, Theme};

fn render(s: &State) -> String {
    let mut term = Terminal::new(TestBackend::new(s.size.0, s.size.1)).expect("term");
    let theme = Theme::new(ThemeName::Auto, false);
    let mut painter = Placeholder {
        lang: s.lang,
        off: false,
    };
    term.draw(|f| ui::draw(f, s, &theme, &mut painter))
        .expect("draw");
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut skip = 0;
        for x in 0..buf.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            out.push_str(sym);
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
        }
        out.push('\n');
    }
    out
}

fn cmd(s: &mut State, c: Command) {
    update(s, Action::Key(KeyAction::Command(c)));
}

fn opened(lang: Lang, w: u16, h: u16) -> State {
    let mut s = fx::state(lang, w, h);
    cmd(&mut s, Command::Open);
    let req = s.cand.as_ref().and_then(|c| c.loading).expect("loading");
    update(
        &mut s,
        Action::DetailDone {
            req,
            id: 1,
            result: Ok(Box::new(fx::detail())),
        },
    );
    if let Some(c) = s.cand.as_mut() {
        c.claim = ClaimState::Mine {
            renewed_at: fx::now(),
        };
    }
    s
}

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 55)];
const LANGS: [(Lang, &str); 2] = [(Lang::Zh, "zh"), (Lang::En, "en")];

fn each(name: &str, build: impl Fn(Lang, u16, u16) -> State) {
    for (lang, l) in LANGS {
        for (w, h) in SIZES {
            let s = build(lang, w, h);
            insta::assert_snapshot!(format!("{name}_{l}_{w}x{h}"), render(&s));
        }
    }
}

#[test]
fn queue() {
    each("queue", fx::state);
}

#[test]
fn candidate() {
    each("candidate", opened);
}

#[test]
fn candidate_with_history_panel() {
    each("history", |lang, w, h| {
        let mut s = opened(lang, w, h);
        cmd(&mut s, Command::History);
        update(
            &mut s,
            Action::AuditDone {
                id: 1,
                result: Ok(shenhe::api::dto::AuditList { items: vec![] }),
            },
        );
        s
    });
}

#[test]
fn reason_picker() {
    each("picker", |lang, w, h| {
        let mut s = opened(lang, w, h);
        cmd(&mut s, Command::Unlock);
        update(&mut s, Action::Key(KeyAction::Toggle(0)));
        update(&mut s, Action::Key(KeyAction::Toggle(2)));
        s
    });
}

#[test]
fn help() {
    each("help", |lang, w, h| {
        let mut s = opened(lang, w, h);
        cmd(&mut s, Command::Help);
        s
    });
}

#[test]
fn login() {
    each("login", |lang, w, h| {
        let mut s = fx::state(lang, w, h);
        s.session = None;
        s.screen = Screen::Login;
        s.login.username = "nanjing".into();
        s.login.password = "secret".into();
        s.login.focus = shenhe::app::state::LoginField::Password;
        s.login.error = Some(StatusMsg::BadCredentials);
        s
    });
}

#[test]
fn error_state() {
    each("conflict", |lang, w, h| {
        let mut s = opened(lang, w, h);
        let e = ApiError::Problem(Box::new(Problem {
            status: 409,
            code: "stale_version".into(),
            changed_by: Some("suzhou".into()),
            changed_at: Some(fx::now() - chrono::Duration::minutes(2)),
            ..Problem::default()
        }));
        s.status = Some(Status {
            kind: StatusKind::Error,
            msg: match e.conflict() {
                Some((who, at)) => StatusMsg::Conflict {
                    who: who.map(str::to_string),
                    at,
                },
                None => StatusMsg::Api(e.clone()),
            },
            at: s.now,
        });
        s
    });
}

#[test]
fn relogin_over_the_candidate() {
    each("relogin", |lang, w, h| {
        let mut s = opened(lang, w, h);
        s.relogin = true;
        s.login.username = "nanjing".into();
        s.login.error = Some(StatusMsg::SessionExpired);
        s
    });
}

#[test]
fn confirm_reject_and_zoom() {
    each("confirm", |lang, w, h| {
        let mut s = opened(lang, w, h);
        cmd(&mut s, Command::Reject);
        update(&mut s, Action::Key(KeyAction::Toggle(2)));
        update(&mut s, Action::Key(KeyAction::Submit));
        s
    });
    each("zoom", |lang, w, h| {
        let mut s = opened(lang, w, h);
        cmd(&mut s, Command::Zoom);
        s
    });
}

/// Two locks sent, the first refused as stale (suzhou changed it first), the
/// second not sent because it depended on it; then the list opened.
fn refused_state(lang: Lang, w: u16, h: u16) -> State {
    use shenhe::app::Effect;
    let mut s = opened(lang, w, h);
    let fx1 = update(&mut s, Action::Key(KeyAction::Command(Command::Lock)));
    update(&mut s, Action::Key(KeyAction::Command(Command::Lock)));
    let id = fx1
        .iter()
        .find_map(|e| match e {
            Effect::Send(op) => Some(op.id),
            _ => None,
        })
        .expect("sent");
    let e = ApiError::Problem(Box::new(Problem {
        status: 409,
        code: "stale_version".into(),
        changed_by: Some("suzhou".into()),
        changed_at: Some(fx::now() - chrono::Duration::minutes(2)),
        ..Problem::default()
    }));
    update(
        &mut s,
        Action::OpDone {
            op: id,
            result: Err(e),
        },
    );
    s
}

#[test]
fn refused_list() {
    each("refused", |lang, w, h| {
        let mut s = refused_state(lang, w, h);
        cmd(&mut s, Command::Refused);
        s
    });
    // Closed: the count stays in the status bar until dismissed.
    each("refused_count", refused_state);
}

#[test]
fn quit_confirmation() {
    each("quit_confirm", |lang, w, h| {
        let mut s = opened(lang, w, h);
        update(&mut s, Action::OutboxLoaded(Ok(vec![])));
        cmd(&mut s, Command::Lock);
        cmd(&mut s, Command::Lock);
        cmd(&mut s, Command::Quit);
        s
    });
}

/// The session's statistics beside the tabs, on the 退回 tab: the tabs win.
#[test]
fn statistics_on_the_returned_tab() {
    each("stats_returned", |lang, w, h| {
        let mut s = fx::state(lang, w, h);
        for _ in 0..4 {
            cmd(&mut s, Command::NextTab);
        }
        s.stats.decided = 143;
        s.stats.seconds = vec![38; 5];
        s
    });
}

/// From the queue: the queue's keys, then the candidate screen's; at 80×24
/// the popup says it scrolls.
#[test]
fn help_from_the_queue() {
    each("help_queue", |lang, w, h| {
        let mut s = fx::state(lang, w, h);
        cmd(&mut s, Command::Help);
        s
    });
}

/// Every size from 80×24 to 240×70, every main screen: the header keeps its
/// two sides apart, every tab is whole and the current one is marked, the
/// statistics never cut a tab.
#[test]
fn layout_holds_at_every_size() {
    let names = |lang| match lang {
        Lang::Zh => ["待审核", "审核待定", "审核通过", "审核不通过", "退回"],
        Lang::En => ["awaiting", "pending", "passed", "rejected", "returned"],
    };
    for (lang, _) in LANGS {
        for w in (80..=240).step_by(8) {
            for h in [24u16, 30, 40, 55, 70] {
                for screen in 0..2 {
                    let mut s = if screen == 0 {
                        fx::state(lang, w, h)
                    } else {
                        opened(lang, w, h)
                    };
                    s.stats.decided = 143;
                    s.stats.seconds = vec![38; 5];
                    let text = render(&s);
                    let rows: Vec<&str> = text.lines().collect();
                    let (header, tabs) = (rows[0], rows[1]);
                    assert!(
                        header.contains("● ") || header.contains("○ ") || header.contains("◌ "),
                        "{w}x{h}: connection state lost: {header:?}"
                    );
                    // The reviewer's name and what follows it never touch.
                    assert!(
                        !header.contains("审核审核期") && !header.contains("王审核审"),
                        "{w}x{h}: {header:?}"
                    );
                    let lower = tabs.to_lowercase();
                    for n in names(lang) {
                        assert!(
                            lower.contains(&n.to_lowercase()),
                            "{w}x{h}: tab {n} cut: {tabs:?}"
                        );
                    }
                    assert_eq!(
                        tabs.matches('[').count(),
                        1,
                        "{w}x{h}: current tab not marked once: {tabs:?}"
                    );
                    assert!(tabs.contains(']'), "{w}x{h}: {tabs:?}");
                }
            }
        }
    }
}

/// `a` on an image with a quality hint: asked once.
#[test]
fn flagged_image_confirmation() {
    each("flagged", |lang, w, h| {
        let mut s = opened(lang, w, h);
        if let Some(c) = s.cand.as_mut() {
            let id = c.current_image().map(|i| i.id).expect("image");
            if let Some(i) = c.image_mut(id) {
                i.hints.blurry = true;
                i.hints.near_duplicate_of = vec![shenhe::api::dto::DuplicateRef {
                    image_id: 99,
                    candidate_id: None,
                    reg_no: None,
                    distance: 3,
                }];
            }
        }
        cmd(&mut s, Command::Lock);
        s
    });
}

/// The history panel with a decision, an unlock and its undo in words.
#[test]
fn history_in_words() {
    use serde_json::json;
    use shenhe::api::dto::AuditEventDto;
    let ev = |id: i64, action: &str, target: &str, after, reasons: &[&str], note: Option<&str>| {
        AuditEventDto {
            id,
            at: fx::now() - chrono::Duration::minutes(30 - id),
            actor: "nanjing".into(),
            action: action.into(),
            target: target.into(),
            candidate_id: 1,
            before: json!(null),
            after,
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
            note: note.map(str::to_string),
            idempotency_key: None,
            undoes: if action == "undo" { Some(2) } else { None },
            undone_by: if id == 2 { Some(3) } else { None },
        }
    };
    each("history_words", |lang, w, h| {
        let mut s = opened(lang, w, h);
        cmd(&mut s, Command::History);
        let items = vec![
            ev(1, "image.lock", "image:10", json!({}), &[], None),
            ev(
                2,
                "image.unlock",
                "image:13",
                json!({}),
                &["BLURRY"],
                Some("请重拍"),
            ),
            ev(3, "undo", "image:13", json!({}), &[], None),
            ev(
                4,
                "candidate.decision",
                "candidate:1",
                json!({"level": "site", "site": {"state": "pending"}}),
                &["MAT_NONCOMPLIANT"],
                Some("补交学位证"),
            ),
        ];
        update(
            &mut s,
            Action::AuditDone {
                id: 1,
                result: Ok(shenhe::api::dto::AuditList { items }),
            },
        );
        s
    });
}

/// `:stats` as the district: per site, the total, the projection.
#[test]
fn district_overview() {
    use shenhe::api::dto::Counts;
    use shenhe::api::reports::{DayCount, SiteStats, StatsResponse};
    let row = |site: &str, awaiting: i64, pace: f64, on_track: bool| SiteStats {
        site: site.into(),
        site_counts: Counts {
            awaiting_review: awaiting / 2,
            pending: 12,
            passed: 300,
            rejected: 2,
            returned: 1,
            not_started: 40,
        },
        district_counts: Counts {
            awaiting_review: awaiting,
            pending: 7,
            passed: 1200,
            rejected: 3,
            returned: 1,
            not_started: 0,
        },
        stale: awaiting / 10,
        per_day: (0..7)
            .map(|k| DayCount {
                day: fx::now().date_naive() - chrono::Duration::days(6 - k),
                decisions: (pace as i64) + k,
            })
            .collect(),
        pace,
        remaining: awaiting + awaiting / 2,
        days_needed: (pace > 0.0).then(|| (awaiting + awaiting / 2) as f64 / pace),
        on_track,
    };
    each("stats", |lang, w, h| {
        let mut s = fx::state(lang, w, h);
        cmd(&mut s, Command::Stats);
        s.report = Some(Box::new(StatsResponse {
            generated_at: fx::now(),
            level: shenhe::domain::review::Level::District,
            stale_days: 3,
            window: fx::window(),
            sites: vec![
                row("南京考点", 1204, 143.0, true),
                row("苏州考点", 20279, 90.0, false),
            ],
            total: row("", 21483, 233.0, false),
        }));
        s
    });
}
