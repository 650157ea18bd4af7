//! The queue: a full table on the queue screen, a narrow list beside the
//! candidate on wide terminals.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::api::dto::CandidateSummary;
use crate::app::state::State;
use crate::domain::text::clean;

use super::i18n::{self, T, tr};
use super::{Theme, pad};

fn claim_word(s: &State, r: &CandidateSummary) -> String {
    match &r.claim {
        Some(c) if c.expires_at > s.now => {
            if c.mine {
                tr(s.lang, T::ClaimMine).to_string()
            } else {
                clean(&c.reviewer)
            }
        }
        _ => String::new(),
    }
}

fn title(s: &State, t: &Theme) -> Line<'static> {
    let lang = s.lang;
    let mut spans = vec![Span::styled(format!(" {} ", tr(lang, T::Queue)), t.title)];
    if s.queue.loading.is_some() {
        spans.push(Span::styled(format!("{} ", tr(lang, T::Loading)), t.dim));
    } else if !s.queue.rows.is_empty() {
        spans.push(Span::styled(format!("{} ", position(s)), t.dim));
    }
    Line::from(spans)
}

/// `1/20,279`: the place in the whole tab (its count), not in the page
/// loaded; while searching, among the matches (`+` while more may come).
pub fn position(s: &State) -> String {
    let q = &s.queue;
    let at = i18n::thousands((q.base + q.selected) as i64 + 1);
    if q.query.is_empty() {
        let total = q.tab.count(&q.counts).max(q.rows.len() as i64);
        format!("{at}/{}", i18n::thousands(total))
    } else if q.next_cursor.is_some() {
        format!("{at}/{}+", i18n::thousands(q.rows.len() as i64))
    } else {
        format!("{at}/{}", i18n::thousands(q.rows.len() as i64))
    }
}

/// How long the candidate has waited since submitting: the queue's order
/// (first submitted, first reviewed), so the column reads in its order.
fn waited(s: &State, r: &CandidateSummary) -> String {
    r.submitted_at
        .map(|at| i18n::age(s.lang, at, s.now))
        .unwrap_or_else(|| "—".to_string())
}

fn empty_line(s: &State, t: &Theme) -> Line<'static> {
    let word = if s.queue.loaded {
        tr(s.lang, T::Empty)
    } else {
        tr(s.lang, T::Loading)
    };
    Line::from(Span::styled(format!(" {word}"), t.dim))
}

/// Rows visible in a list of `h` lines, from the state's offset.
fn visible(s: &State, h: usize) -> impl Iterator<Item = (usize, &CandidateSummary)> {
    s.queue.rows.iter().enumerate().skip(s.queue.offset).take(h)
}

pub fn full(f: &mut Frame, s: &State, t: &Theme, area: Rect) {
    let block = Block::bordered().border_style(t.border).title(title(s, t));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height < 2 {
        return;
    }
    let lang = s.lang;
    let w = usize::from(inner.width);
    // name 10 · category 14–22 · reg 14 · imgs 6 · age 7 · claim rest.
    // Spare width goes to the category first: the longest (乡村全科执业助理医师)
    // needs 20 columns, and a cut-off category is what reviewers misread.
    let (wn, wr, wi, wa) = (10usize, 14usize, 6usize, 7usize);
    let fixed = 2 + wn + wr + wi + wa + 5;
    let wc = w.saturating_sub(fixed + 12).clamp(14, 22);
    let wh = w.saturating_sub(fixed + wc).max(4);
    let header = format!(
        "  {} {} {} {} {} {}",
        pad(tr(lang, T::ColName), wn),
        pad(tr(lang, T::ColCategory), wc),
        pad(tr(lang, T::ColRegNo), wr),
        pad(tr(lang, T::ColImages), wi),
        pad(tr(lang, T::ColAge), wa),
        pad(tr(lang, T::ColClaim), wh),
    );
    let mut lines = vec![Line::from(Span::styled(super::fit(&header, w), t.dim))];
    let h = usize::from(inner.height) - 1;
    if s.queue.rows.is_empty() {
        lines.push(empty_line(s, t));
    }
    for (i, r) in visible(s, h) {
        let sel = i == s.queue.selected;
        let imgs = if r.flagged > 0 {
            format!("{} {}{}", r.images, super::glyph(s, "⚑", "!"), r.flagged)
        } else {
            r.images.to_string()
        };
        let text = format!(
            "{}{} {} {} {} {} {}",
            if sel { "▶ " } else { "  " },
            pad(&clean(&r.name), wn),
            pad(&clean(&r.exam_category), wc),
            pad(&clean(&r.reg_no), wr),
            pad(&imgs, wi),
            pad(&waited(s, r), wa),
            pad(&claim_word(s, r), wh),
        );
        let style = if sel { t.selected } else { t.base };
        lines.push(Line::from(Span::styled(pad(&text, w), style)));
    }
    if s.queue.next_cursor.is_some() && lines.len() <= h {
        lines.push(Line::from(Span::styled(
            format!("  {}", tr(lang, T::More)),
            t.dim,
        )));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// The narrow list beside the candidate (mock-up: name, category, age, holder).
pub fn compact(f: &mut Frame, s: &State, t: &Theme, area: Rect) {
    let block = Block::bordered().border_style(t.border).title(title(s, t));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let w = usize::from(inner.width);
    let h = usize::from(inner.height);
    let open = s.cand.as_ref().map(|c| c.id);
    let mut lines = Vec::new();
    if s.queue.rows.is_empty() {
        lines.push(empty_line(s, t));
    }
    // Keep the open candidate in view even if the table scrolled elsewhere.
    let sel = s.queue.selected;
    let offset = if sel >= s.queue.offset + h {
        sel + 1 - h
    } else {
        s.queue.offset.min(sel)
    };
    for (i, r) in s.queue.rows.iter().enumerate().skip(offset).take(h) {
        let here = Some(r.id) == open || (open.is_none() && i == sel);
        let holder = claim_word(s, r);
        let holder = if r.claim.as_ref().is_some_and(|c| c.mine) {
            String::new()
        } else {
            holder
        };
        // marker 2 · name 8 · category (the rest) · age 5 · holder 6
        let holder_w = if w >= 30 { 6 } else { 2 };
        let cat_w = w.saturating_sub(2 + 8 + 1 + 1 + 5 + 1 + holder_w).max(4);
        let text = format!(
            "{}{} {} {} {}",
            if here { "▶ " } else { "  " },
            pad(&clean(&r.name), 8),
            pad(&clean(&r.exam_category), cat_w),
            pad(&waited(s, r), 5),
            pad(&holder, holder_w),
        );
        let style = if here { t.selected } else { t.base };
        lines.push(Line::from(Span::styled(pad(&text, w), style)));
    }
    f.render_widget(Paragraph::new(lines), inner);
}
