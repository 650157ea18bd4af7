//! Strings from the server are hostile until proven otherwise: a candidate
//! controls their name and a reviewer's note can be pasted from anywhere.
//! Render them through a real crossterm backend into bytes and check that
//! nothing a terminal would act on gets through.

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use shenhe::api::dto::{ClaimDto, FeedbackDto};
use shenhe::app::action::Action;
use shenhe::app::fixtures as fx;
use shenhe::app::keys::{Command, KeyAction};
use shenhe::app::state::{ClaimState, State, Status, StatusKind, StatusMsg};
use shenhe::app::update;
use shenhe::domain::audit::FeedbackChannel;
use shenhe::lang::Lang;
use shenhe::ui::{self, Placeholder, Theme};

/// ESC/CSI (device status report and clear screen), OSC 52 (clipboard
/// write) and OSC 0 (title) ended by BEL and ST, DCS, 8-bit CSI, bidi
/// overrides and isolates, zero-width characters.
const HOSTILE: &str = "王\x1b[6n\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;pwned\x1b\\\x1bP+q\x1b\\\u{9b}31m\u{202e}evil\u{202c}\u{2066}x\u{2069}\u{200b}\u{200d}\u{2060}\u{feff}娜\x07";

fn hostile_state(lang: Lang) -> State {
    let mut s = fx::state(lang, 120, 40);
    if let Some(sess) = s.session.as_mut() {
        sess.reviewer.display_name = HOSTILE.into();
    }
    for r in &mut s.queue.rows {
        r.name = HOSTILE.into();
        r.exam_category = HOSTILE.into();
    }
    s.queue.rows[1].claim = Some(ClaimDto {
        reviewer: HOSTILE.into(),
        expires_at: fx::now() + chrono::Duration::minutes(3),
        mine: false,
    });
    s.queue.query = HOSTILE.into();
    update(&mut s, Action::Key(KeyAction::Command(Command::Open)));
    let req = s.cand.as_ref().and_then(|c| c.loading).expect("loading");
    let mut d = fx::detail();
    d.name = HOSTILE.into();
    d.school = HOSTILE.into();
    d.id_number = HOSTILE.into();
    d.materials[3].images[0].note = Some(HOSTILE.into());
    d.feedback.push(FeedbackDto {
        id: 2,
        channel: FeedbackChannel::Sms,
        body: HOSTILE.into(),
        author: HOSTILE.into(),
        created_at: fx::now(),
    });
    update(
        &mut s,
        Action::DetailDone {
            req,
            id: 1,
            result: Ok(Box::new(d)),
        },
    );
    if let Some(c) = s.cand.as_mut() {
        c.claim = ClaimState::HeldBy {
            who: HOSTILE.into(),
            until: None,
        };
        c.panel = true;
        c.audit = Some(vec![]);
        c.image = 3;
    }
    s.status = Some(Status {
        kind: StatusKind::Error,
        msg: StatusMsg::Conflict {
            who: Some(HOSTILE.into()),
            at: None,
        },
        at: s.now,
    });
    s
}

fn bytes_of(s: &State) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    {
        let backend = CrosstermBackend::new(&mut out);
        let mut term = Terminal::with_options(
            backend,
            ratatui::TerminalOptions {
                viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 120, 40)),
            },
        )
        .expect("terminal");
        let theme = Theme::mono();
        let mut p = Placeholder {
            lang: s.lang,
            off: false,
        };
        term.draw(|f| ui::draw(f, s, &theme, &mut p)).expect("draw");
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn hostile_strings_render_as_harmless_text() {
    for lang in [Lang::Zh, Lang::En] {
        let out = bytes_of(&hostile_state(lang));
        assert!(!out.is_empty());
        let forbidden: &[(&str, &[u8])] = &[
            ("BEL", b"\x07"),
            ("OSC", b"\x1b]"),
            ("DCS", b"\x1bP"),
            ("ST", b"\x1b\\"),
            ("DSR", b"\x1b[6n"),
            ("clear", b"\x1b[2J"),
            ("C1 CSI", "\u{9b}".as_bytes()),
            ("RLO", "\u{202e}".as_bytes()),
            ("PDF", "\u{202c}".as_bytes()),
            ("LRI", "\u{2066}".as_bytes()),
            ("PDI", "\u{2069}".as_bytes()),
            ("ZWSP", "\u{200b}".as_bytes()),
            ("ZWJ", "\u{200d}".as_bytes()),
            ("WJ", "\u{2060}".as_bytes()),
            ("BOM", "\u{feff}".as_bytes()),
        ];
        for (name, seq) in forbidden {
            assert!(
                !contains(&out, seq),
                "{name} reached the terminal ({lang:?})"
            );
        }
        // Every ESC left is one the backend wrote itself: CSI cursor moves,
        // SGR, cursor show/hide; never one from the payload.
        for (i, b) in out.iter().enumerate() {
            if *b == 0x1b {
                assert_eq!(out.get(i + 1), Some(&b'['), "bare ESC at {i}");
                let tail: Vec<u8> = out[i + 2..]
                    .iter()
                    .copied()
                    .take_while(|c| !(0x40..=0x7e).contains(c))
                    .collect();
                let fin = out.get(i + 2 + tail.len()).copied().unwrap_or(0);
                assert!(
                    matches!(fin, b'H' | b'm' | b'l' | b'h' | b'J' | b'K'),
                    "unexpected CSI final {:?} at {i}",
                    fin as char
                );
                if fin == b'J' {
                    panic!("a clear-screen sequence was written");
                }
            }
        }
        // …and the reviewer can still see that something odd was there.
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains('␛'), "escapes are shown as ␛");
        assert!(text.contains("\\u{202e}"), "bidi overrides are shown");
    }
}

#[test]
fn sanitize_is_what_the_ui_uses() {
    let s = shenhe::domain::text::sanitize(HOSTILE);
    assert!(!s.contains('\x1b'));
    assert!(!s.contains('\x07'));
    assert!(!s.contains('\u{202e}'));
}
