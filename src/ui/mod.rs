//! Screens and widgets. They read `State` only and do no I/O; every string
//! from the server is sanitised before it is drawn.

pub mod candidate;
pub mod history;
pub mod i18n;
pub mod popups;
pub mod queue;
pub mod stats;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use unicode_width::UnicodeWidthStr;

use crate::api::dto::ImageDto;
use crate::app::keys::{Command, Mode};
use crate::app::state::{Conn, InputKind, Overlay, Screen, State, StatusKind, Tab, ZoomView};
use crate::domain::text::clean;
use crate::lang::Lang;

pub use i18n::{T, tr};
pub use theme::Theme;

/// Draws an image into the pane. The images engine implements this; tests
/// and `image_protocol = "off"` use [`Placeholder`].
pub trait ImagePainter {
    /// `view`: the zoom view's steps, or None for "fit" in the pane.
    /// `hidden`: a popup is open (sixel/iTerm2 must not paint under it).
    fn paint(
        &mut self,
        f: &mut Frame,
        area: Rect,
        image: &ImageDto,
        view: Option<ZoomView>,
        hidden: bool,
        theme: &Theme,
    );

    /// A short note for the status bar: which protocol draws the images and
    /// why, and with `bytes` what the last navigation step cost.
    fn status_note(&self, _lang: Lang, _bytes: bool) -> Option<String> {
        None
    }
}

/// A text stand-in for the image (snapshots, terminals without graphics).
pub struct Placeholder {
    pub lang: Lang,
    pub off: bool,
}

impl ImagePainter for Placeholder {
    fn paint(
        &mut self,
        f: &mut Frame,
        area: Rect,
        image: &ImageDto,
        _view: Option<ZoomView>,
        _hidden: bool,
        theme: &Theme,
    ) {
        if area.height == 0 {
            return;
        }
        let text = if self.off {
            tr(self.lang, T::ImagesOff).to_string()
        } else {
            format!(
                "{} {}×{}",
                tr(self.lang, T::ImagePlaceholder),
                image.width,
                image.height
            )
        };
        let y = area.y + area.height / 2;
        let w = u16::try_from(text.width())
            .unwrap_or(area.width)
            .min(area.width);
        let x = area.x + (area.width - w) / 2;
        f.render_widget(
            Paragraph::new(Span::styled(text, theme.dim)),
            Rect::new(x, y, w, 1),
        );
    }
}

/// `unicode`, or `ascii` where the terminal's font lacks such symbols.
pub fn glyph(s: &State, unicode: &'static str, ascii: &'static str) -> &'static str {
    if s.ascii_glyphs { ascii } else { unicode }
}

/// Cut `s` to `width` columns (CJK counts two), with `…` if cut.
pub fn fit(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw > width - 1 {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// `fit` then pad with spaces to exactly `width` columns.
pub fn pad(s: &str, width: usize) -> String {
    let mut out = fit(s, width);
    let w = out.width();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(w)));
    out
}

pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Draw the whole console.
pub fn draw(f: &mut Frame, s: &State, theme: &Theme, images: &mut dyn ImagePainter) {
    let area = f.area();
    f.render_widget(Block::default().style(theme.base), area);
    if s.screen == Screen::Login {
        popups::login(f, s, theme, area, false);
        return;
    }
    let [header, tabs, body, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(f, s, theme, header);
    draw_tabs(f, s, theme, tabs);
    match s.screen {
        Screen::Queue | Screen::Login => queue::full(f, s, theme, body),
        Screen::Candidate => {
            if body.width >= 100 {
                // Wide screens: room for the category column (the longest,
                // 乡村全科执业助理医师, takes 20 columns).
                let list = match body.width {
                    180.. => 52,
                    150.. => 46,
                    110.. => 34,
                    _ => 30,
                };
                let [left, right] =
                    Layout::horizontal([Constraint::Length(list), Constraint::Min(40)]).areas(body);
                queue::compact(f, s, theme, left);
                candidate::draw(f, s, theme, right, images);
            } else {
                candidate::draw(f, s, theme, body, images);
            }
        }
        Screen::Zoom => candidate::zoom(f, s, theme, body, images),
    }
    let note = images.status_note(s.lang, s.show_bytes);
    draw_status(f, s, theme, status, note.as_deref());
    draw_hints(f, s, theme, hints);
    match &s.overlay {
        Some(Overlay::Picker(p)) => popups::picker(f, s, p, theme, area),
        Some(Overlay::Confirm(c)) => popups::confirm(f, s, c, theme, area),
        Some(Overlay::ConfirmFlagged(c)) => popups::confirm_flagged(f, s, c, theme, area),
        Some(Overlay::Stats) => stats::draw(f, s, theme, area),
        Some(Overlay::Help { scroll }) => popups::help(f, s, *scroll, theme, area),
        Some(Overlay::Input(i)) => match i.kind {
            InputKind::Search => popups::search(f, s, i, theme, status),
            InputKind::Palette => popups::palette(f, s, i, theme, area, status),
            InputKind::Feedback => popups::feedback(f, s, i, theme, area),
        },
        Some(Overlay::Refused { cursor }) => popups::refused(f, s, *cursor, theme, area),
        Some(Overlay::ConfirmLeave(_)) | None => {}
    }
    if s.relogin {
        popups::login(f, s, theme, area, true);
    }
    // Over the login form too: quitting from a relogin asks as well.
    if let Some(Overlay::ConfirmLeave(c)) = &s.overlay {
        popups::confirm_leave(f, s, c, theme, area);
    }
}

/// Left-aligned `left`, right-aligned `right` (which wins when narrow).
fn two_sided(f: &mut Frame, area: Rect, left: Line, right: Line) {
    let rw = u16::try_from(right.width())
        .unwrap_or(area.width)
        .min(area.width);
    // Two columns between them, so the two never run together.
    let lw = area.width.saturating_sub(rw + 2);
    f.render_widget(Paragraph::new(left), Rect::new(area.x, area.y, lw, 1));
    let r = Rect::new(area.x + area.width - rw, area.y, rw, 1);
    f.render_widget(Paragraph::new(right), r);
}

/// The first of `candidates` (most to least complete) that fits beside
/// `left` in `width` columns with a gap of two; else nothing.
fn fitting<'a>(width: u16, left: usize, candidates: Vec<Vec<Span<'a>>>) -> Line<'a> {
    for c in candidates {
        let line = Line::from(c);
        if left + 2 + line.width() <= usize::from(width) {
            return line;
        }
    }
    Line::default()
}

fn draw_header(f: &mut Frame, s: &State, t: &Theme, area: Rect) {
    let lang = s.lang;
    let mut left = vec![Span::styled(format!(" {}", tr(lang, T::App)), t.title)];
    let (dot, word, style) = match s.conn {
        Conn::Connected => (glyph(s, "●", "*"), tr(lang, T::Connected), t.ok),
        Conn::Reconnecting => (glyph(s, "◌", "~"), tr(lang, T::Reconnecting), t.warn),
        Conn::Unknown => (glyph(s, "○", "o"), tr(lang, T::Connecting), t.dim),
    };
    let conn = Span::styled(format!("{dot} {word} "), style);
    let mut candidates = Vec::new();
    if let Some(sess) = &s.session {
        let r = &sess.reviewer;
        let place = match &r.site {
            Some(site) => format!("{}/{}", clean(&r.district), clean(site)),
            None => clean(&r.district),
        };
        left.push(Span::styled(
            format!(" · {place} · {}", clean(&r.display_name)),
            t.base,
        ));
        let w = &sess.window;
        let win = crate::domain::rules::ReviewWindow {
            opens: w.opens,
            closes: w.closes,
        };
        let left_txt = if w.days_left > 0 {
            match lang {
                Lang::Zh => format!("{} {} 天", tr(lang, T::DaysLeft), w.days_left),
                Lang::En => format!("{} days left", w.days_left),
            }
        } else {
            tr(lang, T::Closed).to_string()
        };
        // Narrow: the dates go first, then the days left; the connection
        // state always stays.
        candidates.push(vec![
            Span::styled(
                format!("{} {} · {left_txt} · ", tr(lang, T::Window), win.short()),
                t.base,
            ),
            conn.clone(),
        ]);
        candidates.push(vec![
            Span::styled(format!("{left_txt} · "), t.base),
            conn.clone(),
        ]);
    }
    candidates.push(vec![conn]);
    let left = Line::from(left);
    let right = fitting(area.width, left.width(), candidates);
    two_sided(f, area, left, right);
}

fn draw_tabs(f: &mut Frame, s: &State, t: &Theme, area: Rect) {
    let lang = s.lang;
    let mut spans = vec![Span::raw(" ")];
    // The current tab is bracketed as well as filled: visible without
    // colour, and the bar's width does not change as it moves.
    for (i, tab) in Tab::ALL.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("│", t.dim));
        }
        let name = match tab {
            Tab::Returned => tr(lang, T::Returned),
            other => i18n::status_name(lang, other.status()),
        };
        let label = format!("{name} {}", i18n::thousands(tab.count(&s.queue.counts)));
        if *tab == s.queue.tab {
            spans.push(Span::styled(format!("[{label}]"), t.tab_active));
        } else {
            spans.push(Span::styled(format!(" {label} "), t.base));
        }
    }
    if !s.queue.query.is_empty() {
        spans.push(Span::styled(
            format!("  / {}", clean(&s.queue.query)),
            t.accent,
        ));
    }
    let left = Line::from(spans);
    let mut candidates = Vec::new();
    if s.stats.decided > 0 {
        let med = s.stats.median().unwrap_or(0);
        let n = s.stats.decided;
        // The tabs always win: the statistics shorten, then go.
        candidates.push(vec![Span::styled(
            match lang {
                Lang::Zh => format!("本次 {n} 人 · 中位 {med} 秒/人 "),
                Lang::En => format!("{n} done · median {med} s "),
            },
            t.dim,
        )]);
        candidates.push(vec![Span::styled(
            match lang {
                Lang::Zh => format!("{n}人·{med}秒 "),
                Lang::En => format!("{n}·{med}s "),
            },
            t.dim,
        )]);
    }
    let right = fitting(area.width, left.width(), candidates);
    two_sided(f, area, left, right);
}

fn draw_status(f: &mut Frame, s: &State, t: &Theme, area: Rect, note: Option<&str>) {
    let unsent = s.unsent();
    let mut right = Vec::new();
    if !s.refused.is_empty() {
        // Stays until the reviewer has seen and dismissed them.
        right.push(Span::styled(
            format!(
                "{} {} {}",
                glyph(s, "✗", "x"),
                s.refused.len(),
                tr(s.lang, T::RefusedCount)
            ),
            t.err,
        ));
        right.push(Span::styled(" · ", t.dim));
    }
    right.push(Span::styled(
        format!("{} {unsent} {} ", glyph(s, "⟳", "~"), tr(s.lang, T::Unsent)),
        if unsent > 0 { t.warn } else { t.dim },
    ));
    let mut right = Line::from(right);
    if let Some(n) = note {
        // At most two thirds of the bar: the status message on the left
        // matters more.
        let room = usize::from(area.width / 3 * 2).saturating_sub(right.width() + 3);
        if room > 8 {
            right
                .spans
                .insert(0, Span::styled(format!("{} · ", fit(n, room)), t.dim));
        }
    }
    let left = match &s.status {
        Some(st) => {
            let style = match st.kind {
                StatusKind::Info => t.base,
                StatusKind::Ok => t.ok,
                StatusKind::Warn => t.warn,
                StatusKind::Error => t.err,
            };
            Line::from(Span::styled(
                format!(" {}", i18n::status(s.lang, &st.msg, s.now)),
                style,
            ))
        }
        None => Line::default(),
    };
    two_sided(f, area, left, right);
}

/// The commands the hint bar offers in each mode, in order; a district
/// reviewer's candidate screen also offers the return to the site.
fn hint_commands(mode: Mode, district: bool) -> &'static [Command] {
    use Command::*;
    match mode {
        Mode::Candidate if district => &[
            Lock,
            Unlock,
            Pending,
            Pass,
            Reject,
            ReturnToSite,
            Undo,
            NextCandidate,
            Zoom,
            Help,
        ],
        Mode::Queue => &[
            Open,
            NextCandidate,
            Search,
            NextTab,
            Undo,
            Refresh,
            Help,
            Back,
        ],
        Mode::Candidate => &[
            Lock,
            Unlock,
            Pending,
            Pass,
            Reject,
            Undo,
            NextCandidate,
            Zoom,
            Help,
        ],
        Mode::Zoom => &[ZoomIn, ZoomOut, Rotate, Lock, Unlock, Back],
        _ => &[],
    }
}

fn draw_hints(f: &mut Frame, s: &State, t: &Theme, area: Rect) {
    let mode = s.base_mode();
    let mut spans = vec![Span::raw(" ")];
    let mut width = 1;
    let district = s.level() == Some(crate::domain::review::Level::District);
    for c in hint_commands(mode, district) {
        // Only keys that are bound now: the bar never lies about a key.
        let Some(k) = s.keymap.keys_for(*c, mode).into_iter().next() else {
            continue;
        };
        let key = k.to_string();
        let word = i18n::command(s.lang, *c).0;
        let w = key.width() + word.width() + 3;
        if width + w > usize::from(area.width) {
            break;
        }
        width += w;
        spans.push(Span::styled(key, t.key));
        spans.push(Span::styled(format!(" {word}  "), t.base));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
