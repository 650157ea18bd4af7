//! Dialogs drawn over the screen: reason picker, reject confirmation, help,
//! search line, command palette, feedback form, login.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use crate::app::keys::{Command, Mode, PICKER_KEYS};
use crate::app::state::{
    ConfirmFlagged, ConfirmLeave, ConfirmReject, Input, LoginField, Picker, PickerPurpose, State,
};
use crate::app::update::palette_matches;
use crate::domain::audit::FeedbackChannel;
use crate::domain::text::clean;
use crate::lang::Lang;

use super::i18n::{self, T, tr};
use super::{Theme, centered, fit};

fn frame_popup(f: &mut Frame, t: &Theme, area: Rect, title: String) -> Rect {
    f.render_widget(Clear, area);
    let block = Block::bordered()
        .border_style(t.accent)
        .style(t.base)
        .title(Span::styled(format!(" {title} "), t.title));
    let inner = block.inner(area);
    f.render_widget(block, area);
    inner
}

fn reason_text(lang: Lang, r: &crate::domain::reason::ReasonCode) -> &'static str {
    match lang {
        Lang::Zh => r.zh,
        Lang::En => r.en,
    }
}

pub fn picker(f: &mut Frame, s: &State, p: &Picker, t: &Theme, screen: Rect) {
    let lang = s.lang;
    let title = match p.purpose {
        PickerPurpose::Unlock { .. } => tr(lang, T::PickUnlock),
        PickerPurpose::Pending => tr(lang, T::PickPending),
        PickerPurpose::Reject => tr(lang, T::PickReject),
        PickerPurpose::Return => tr(lang, T::PickReturn),
    };
    let h = u16::try_from(p.options.len()).unwrap_or(12) + 6;
    let area = centered(screen, 64, h);
    let inner = frame_popup(f, t, area, title.to_string());
    let w = usize::from(inner.width);
    let mut lines = Vec::new();
    for (i, r) in p.options.iter().enumerate() {
        let on = p.chosen.get(i).copied().unwrap_or(false);
        let key = PICKER_KEYS.get(i).copied().unwrap_or(' ');
        let text = format!(
            "{} {key}  {}",
            if on { "[x]" } else { "[ ]" },
            reason_text(lang, r)
        );
        let style = if i == p.cursor && !p.note_focus {
            t.selected
        } else if on {
            t.ok
        } else {
            t.base
        };
        lines.push(Line::from(Span::styled(fit(&text, w), style)));
    }
    lines.push(Line::default());
    let note_label = format!("{}: ", tr(lang, T::Note));
    lines.push(Line::from(vec![
        Span::styled(note_label.clone(), if p.note_focus { t.key } else { t.dim }),
        Span::styled(
            fit(&clean(&p.note), w.saturating_sub(note_label.width() + 1)),
            t.base,
        ),
    ]));
    match &p.error {
        Some(e) => lines.push(Line::from(Span::styled(
            i18n::status(lang, e, s.now),
            t.err,
        ))),
        None => lines.push(Line::default()),
    }
    lines.push(Line::from(Span::styled(
        fit(tr(lang, T::PickerKeys), w),
        t.dim,
    )));
    f.render_widget(Paragraph::new(lines), inner);
    if p.note_focus {
        let x = inner.x + u16::try_from(note_label.width() + clean(&p.note).width()).unwrap_or(0);
        let y = inner.y + u16::try_from(p.options.len() + 1).unwrap_or(0);
        if x < inner.right() && y < inner.bottom() {
            f.set_cursor_position(Position::new(x, y));
        }
    }
}

pub fn confirm(f: &mut Frame, s: &State, c: &ConfirmReject, t: &Theme, screen: Rect) {
    let lang = s.lang;
    let area = centered(screen, 60, 9);
    let inner = frame_popup(f, t, area, tr(lang, T::ConfirmReject).to_string());
    let reasons: Vec<String> = c
        .reasons
        .iter()
        .map(|r| i18n::reason_long(lang, r))
        .collect();
    let mut lines = vec![
        Line::from(Span::styled(clean(&c.name), t.title)),
        Line::from(Span::styled(reasons.join("；"), t.base)),
    ];
    if let Some(n) = &c.note {
        lines.push(Line::from(Span::styled(clean(n), t.base)));
    }
    lines.push(Line::from(Span::styled(tr(lang, T::ConfirmFinal), t.warn)));
    // The rule and the words agree: the server's window, in minutes.
    let secs = s.session.as_ref().map_or(120, |x| x.undo_secs);
    let mins = if secs % 60 == 0 {
        (secs / 60).to_string()
    } else {
        format!("{:.1}", secs as f64 / 60.0)
    };
    lines.push(Line::from(Span::styled(
        tr(lang, T::ConfirmUndoHint).replace("{n}", &mins),
        t.dim,
    )));
    lines.push(Line::from(Span::styled(tr(lang, T::ConfirmKeys), t.key)));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// Locking an image with quality hints: what the hints are, asked once.
pub fn confirm_flagged(f: &mut Frame, s: &State, c: &ConfirmFlagged, t: &Theme, screen: Rect) {
    let lang = s.lang;
    let area = centered(screen, 64, 8);
    let inner = frame_popup(f, t, area, tr(lang, T::FlaggedTitle).to_string());
    let img = s
        .cand
        .as_ref()
        .and_then(|v| v.images().into_iter().find(|i| i.id == c.image_id).cloned());
    let mut lines = Vec::new();
    if let Some(img) = &img {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} · ", super::candidate::image_name(lang, img)),
                t.base,
            ),
            Span::styled(
                format!("⚑ {}", super::candidate::hint_words(lang, img)),
                t.warn,
            ),
        ]));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(tr(lang, T::FlaggedAsk), t.title)));
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(tr(lang, T::FlaggedKeys), t.key)));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// Leaving with decisions not yet sent: say where they are, ask y/n.
pub fn confirm_leave(f: &mut Frame, s: &State, c: &ConfirmLeave, t: &Theme, screen: Rect) {
    let lang = s.lang;
    let area = centered(screen, 60, 8);
    let title = tr(
        lang,
        if c.logout {
            T::LeaveLogout
        } else {
            T::LeaveQuit
        },
    );
    let inner = frame_popup(f, t, area, title.to_string());
    let n = c.unsent;
    let count = match lang {
        Lang::Zh => format!("还有 {n} 项操作尚未发送。"),
        Lang::En => format!("{n} action(s) not sent yet."),
    };
    let (fate, style) = if c.durable {
        (tr(lang, T::LeaveKept), t.base)
    } else {
        (tr(lang, T::LeaveLost), t.warn)
    };
    let keys = if c.logout {
        T::LeaveKeysLogout
    } else {
        T::LeaveKeysQuit
    };
    let lines = vec![
        Line::from(Span::styled(count, t.title)),
        Line::from(Span::styled(fate, style)),
        Line::default(),
        Line::from(Span::styled(tr(lang, keys), t.key)),
    ];
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The refused decisions: what, on whom, and the server's reason.
pub fn refused(f: &mut Frame, s: &State, cursor: usize, t: &Theme, screen: Rect) {
    let lang = s.lang;
    let n = s.refused.len();
    // Two lines an entry, plus the intro, a gap and the keys.
    let want = u16::try_from(n * 2 + 5).unwrap_or(u16::MAX);
    let area = centered(
        screen,
        screen.width.saturating_sub(4).min(96),
        want.min(screen.height.saturating_sub(2)),
    );
    let title = format!("{} ({n})", tr(lang, T::RefusedTitle));
    let inner = frame_popup(f, t, area, title);
    let w = usize::from(inner.width);
    let rows = usize::from(inner.height.saturating_sub(3)) / 2;
    // Keep the cursor in view.
    let first = cursor.saturating_sub(rows.saturating_sub(1));
    let mut lines = vec![Line::from(Span::styled(
        fit(tr(lang, T::RefusedIntro), w),
        t.dim,
    ))];
    for (i, r) in s.refused.iter().enumerate().skip(first).take(rows) {
        let at = i18n::time(r.refusal.at, s.now);
        let what = format!(
            "{} {} · {}",
            if i == cursor { "▶" } else { " " },
            clean(&r.op.name),
            i18n::op_words(lang, &r.op)
        );
        let room = w.saturating_sub(at.width() + 1);
        let head = super::pad(&what, room);
        lines.push(Line::from(vec![
            Span::styled(head, if i == cursor { t.selected } else { t.base }),
            Span::styled(format!(" {at}"), t.dim),
        ]));
        lines.push(Line::from(Span::styled(
            fit(
                &format!("    {}", i18n::refusal(lang, &r.refusal, s.now)),
                w,
            ),
            t.err,
        )));
    }
    let used = u16::try_from(lines.len()).unwrap_or(0);
    f.render_widget(Paragraph::new(lines), inner);
    if inner.height > used {
        let keys = Rect::new(inner.x, inner.bottom() - 1, inner.width, 1);
        f.render_widget(
            Paragraph::new(Span::styled(fit(tr(lang, T::RefusedKeys), w), t.dim)),
            keys,
        );
    }
}

/// The key lines of `mode`, skipping commands already listed.
fn help_lines(
    s: &State,
    mode: Mode,
    t: &Theme,
    wide: bool,
    listed: &mut Vec<Command>,
) -> Vec<Line<'static>> {
    let lang = s.lang;
    let mut lines = Vec::new();
    // Only what works there, with the keys bound now (config included).
    for c in Command::ALL {
        if !c.live_in(mode) || listed.contains(c) {
            continue;
        }
        let keys = s.keymap.keys_for(*c, mode);
        let name_only = matches!(c, Command::Export | Command::Stats);
        if keys.is_empty() && !name_only {
            continue;
        }
        listed.push(*c);
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let keys = if keys.is_empty() {
            format!(":{}", c.name())
        } else {
            fit(&keys.join(" "), 16)
        };
        let pad = " ".repeat(16usize.saturating_sub(keys.width()));
        let mut spans = vec![
            Span::styled(format!(" {keys}{pad} "), t.key),
            Span::styled(i18n::command(lang, *c).1, t.base),
        ];
        // The palette name only where there is room for it.
        if wide {
            spans.push(Span::styled(format!("  :{}", c.name()), t.dim));
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// Every line the help shows: the keys of the screen it was opened on,
/// then (from the queue) the candidate screen's, which a new reviewer
/// needs before they open anyone.
pub fn help_text(s: &State, t: &Theme, wide: bool) -> Vec<Line<'static>> {
    let lang = s.lang;
    let mode = s.base_mode();
    let mut listed = Vec::new();
    let mut lines = vec![Line::from(Span::styled(tr(lang, T::HelpHere), t.title))];
    lines.extend(help_lines(s, mode, t, wide, &mut listed));
    if mode == Mode::Queue {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(
            tr(lang, T::HelpCandidate),
            t.title,
        )));
        lines.extend(help_lines(s, Mode::Candidate, t, wide, &mut listed));
    }
    if matches!(mode, Mode::Candidate | Mode::Queue) {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(tr(lang, T::HelpPicker), t.dim)));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(tr(lang, T::HelpFoot), t.dim)));
    lines
}

pub fn help(f: &mut Frame, s: &State, scroll: u16, t: &Theme, screen: Rect) {
    let lang = s.lang;
    let area = centered(screen, 100, screen.height.saturating_sub(2));
    f.render_widget(Clear, area);
    let lines = help_text(s, t, area.width >= 92);
    let inner_h = area.height.saturating_sub(2);
    let total = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let max = total.saturating_sub(inner_h);
    let scroll = scroll.min(max);
    let mut block = Block::bordered()
        .border_style(t.accent)
        .style(t.base)
        .title(Span::styled(format!(" {} ", tr(lang, T::Help)), t.title));
    if max > 0 {
        // Visible where the list goes on: which lines, and how to scroll.
        let shown = format!(
            " {}–{}/{total} · {} {} ",
            scroll + 1,
            (scroll + inner_h).min(total),
            tr(lang, T::HelpMore),
            if scroll < max { "▼" } else { "▲" },
        );
        block = block.title_bottom(Span::styled(shown, t.key));
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    f.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
}

/// The search line, drawn over the status line.
pub fn search(f: &mut Frame, s: &State, i: &Input, t: &Theme, line: Rect) {
    f.render_widget(Clear, line);
    let prompt = format!(" / {}: ", tr(s.lang, T::Search));
    let text = clean(&i.text);
    let hint = format!("  ({})", tr(s.lang, T::InputKeys));
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(prompt.clone(), t.key),
            Span::styled(text.clone(), t.base),
            Span::styled(hint, t.dim),
        ])),
        line,
    );
    let x = line.x + u16::try_from(prompt.width() + text.width()).unwrap_or(0);
    if x < line.right() {
        f.set_cursor_position(Position::new(x, line.y));
    }
}

pub fn palette(f: &mut Frame, s: &State, i: &Input, t: &Theme, screen: Rect, line: Rect) {
    let lang = s.lang;
    let mode = s.base_mode();
    let matches = palette_matches(&i.text);
    let shown: Vec<_> = matches.iter().take(8).collect();
    let h = u16::try_from(shown.len()).unwrap_or(0) + 2;
    let area = Rect::new(
        screen.x + 1,
        line.y.saturating_sub(h),
        screen.width.saturating_sub(2).min(70),
        h,
    );
    let inner = frame_popup(f, t, area, tr(lang, T::Palette).to_string());
    let mut lines = Vec::new();
    for c in shown {
        let live = c.live_in(mode);
        let key = s
            .keymap
            .keys_for(*c, mode)
            .first()
            .map(|k| k.to_string())
            .unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:<16}", c.name()),
                if live { t.key } else { t.dim },
            ),
            Span::styled(format!("{key:<8}"), t.dim),
            Span::styled(i18n::command(lang, *c).1, if live { t.base } else { t.dim }),
        ]));
    }
    f.render_widget(Paragraph::new(lines), inner);
    f.render_widget(Clear, line);
    let text = clean(&i.text);
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" :", t.key),
            Span::styled(text.clone(), t.base),
        ])),
        line,
    );
    let x = line.x + 2 + u16::try_from(text.width()).unwrap_or(0);
    if x < line.right() {
        f.set_cursor_position(Position::new(x, line.y));
    }
}

pub fn feedback(f: &mut Frame, s: &State, i: &Input, t: &Theme, screen: Rect) {
    let lang = s.lang;
    let name = s.cand.as_ref().map(|c| c.name()).unwrap_or_default();
    let area = centered(screen, 64, 8);
    let inner = frame_popup(
        f,
        t,
        area,
        format!("{} · {}", tr(lang, T::FeedbackTitle), clean(&name)),
    );
    let mut chans = vec![Span::styled(format!("{}: ", tr(lang, T::Channel)), t.dim)];
    for c in [
        FeedbackChannel::Phone,
        FeedbackChannel::Sms,
        FeedbackChannel::System,
    ] {
        let style = if c == i.channel { t.selected } else { t.base };
        chans.push(Span::styled(format!(" {} ", i18n::channel(lang, c)), style));
        chans.push(Span::raw(" "));
    }
    let label = format!("{}: ", tr(lang, T::Body));
    let body = clean(&i.text);
    let lines = vec![
        Line::from(chans),
        Line::default(),
        Line::from(vec![
            Span::styled(label.clone(), t.dim),
            Span::styled(body.clone(), t.base),
        ]),
        Line::default(),
        Line::from(Span::styled(tr(lang, T::FeedbackKeys), t.dim)),
    ];
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    let x = inner.x + u16::try_from(label.width() + body.width()).unwrap_or(0);
    if x < inner.right() {
        f.set_cursor_position(Position::new(x, inner.y + 2));
    }
}

pub fn login(f: &mut Frame, s: &State, t: &Theme, screen: Rect, over: bool) {
    let lang = s.lang;
    let area = centered(screen, 56, 11);
    let title = format!("{} · {}", tr(lang, T::App), tr(lang, T::Login));
    let inner = frame_popup(f, t, area, title);
    let l = &s.login;
    let field = |label: T, value: String, focus: bool| {
        let label = format!("{:<1}{}", "", tr(lang, label));
        let pad = " ".repeat(10usize.saturating_sub(label.width()));
        Line::from(vec![
            Span::styled(format!("{label}{pad}"), if focus { t.key } else { t.dim }),
            Span::styled(
                format!("[{}]", fit(&value, 30)),
                if focus { t.selected } else { t.base },
            ),
        ])
    };
    let stars = "•".repeat(l.password.chars().count());
    let mut lines = vec![
        Line::from(Span::styled(
            fit(
                &format!("{}: {}", tr(lang, T::Server), clean(&s.server)),
                usize::from(inner.width),
            ),
            t.dim,
        )),
        Line::default(),
        field(
            T::Username,
            clean(&l.username),
            l.focus == LoginField::Username,
        ),
        Line::default(),
        field(T::Password, stars.clone(), l.focus == LoginField::Password),
        Line::default(),
    ];
    match &l.error {
        Some(e) => lines.push(Line::from(Span::styled(
            fit(&i18n::status(lang, e, s.now), usize::from(inner.width)),
            if l.busy { t.dim } else { t.err },
        ))),
        None => lines.push(Line::default()),
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(tr(lang, T::LoginKeys), t.dim)));
    f.render_widget(Paragraph::new(lines), inner);
    // The password is never drawn, only its length as dots.
    let (row, len) = match l.focus {
        LoginField::Username => (2, clean(&l.username).width().min(29)),
        LoginField::Password => (4, stars.width().min(29)),
    };
    let x = inner.x + 11 + u16::try_from(len).unwrap_or(0);
    let y = inner.y + row;
    if !l.busy && x < inner.right() && y < inner.bottom() {
        f.set_cursor_position(Position::new(x, y));
    }
    let _ = over;
}
