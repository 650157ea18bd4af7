//! The screens on ratatui's TestBackend, at 80×24, 120×40 and 200×55, in zh-CN and
//! en. Images are a placeholder here (the images engine draws them live).

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use shenhe::api::dto::Problem;
use shenhe::api::error::ApiError;
use shenhe::app::action::Action;
use shenhe::app::fixtures as fx;
use shenhe::app::keys::{Command, KeyAction};
use shenhe::app::state::{ClaimState, Lang, Screen, State, Status, StatusKind, StatusMsg};
use shenhe::app::update;
use shenhe::config::ThemeName;
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
