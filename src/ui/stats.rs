//! The overview (`:stats`): per site, the counts at the reviewer's level,
//! stale items, the pace, and whether the review window will be met.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use crate::api::dto::Counts;
use crate::api::reports::{SiteStats, StatsResponse};
use crate::app::state::State;
use crate::domain::review::Level;
use crate::domain::text::clean;

use super::i18n::{self, T, tr};
use super::{Theme, pad};

fn at_level(r: &SiteStats, level: Level) -> &Counts {
    match level {
        Level::Site => &r.site_counts,
        Level::District => &r.district_counts,
    }
}

/// One row's cells, in the header's order.
fn cells(s: &State, st: &StatsResponse, r: &SiteStats, name: &str) -> Vec<String> {
    let c = at_level(r, st.level);
    let n = i18n::thousands;
    let mut v = vec![
        name.to_string(),
        n(c.awaiting_review),
        n(c.pending),
        n(c.passed),
        n(c.rejected),
        n(c.returned),
    ];
    if st.level == Level::District {
        v.push(n(r.site_counts.awaiting_review));
    }
    v.extend([
        n(r.stale),
        format!("{:.1}", r.pace),
        n(r.remaining),
        r.days_needed
            .map_or_else(|| "—".to_string(), |d| format!("{d:.1}")),
        tr(s.lang, if r.on_track { T::StatsYes } else { T::StatsNo }).to_string(),
    ]);
    v
}

pub fn draw(f: &mut Frame, s: &State, t: &Theme, screen: Rect) {
    let lang = s.lang;
    // Over the tab bar and the queue, the header and status stay.
    let area = Rect::new(
        screen.x,
        screen.y + 1,
        screen.width,
        screen.height.saturating_sub(3),
    );
    f.render_widget(Clear, area);
    let Some(st) = s.report.as_deref() else {
        let block = Block::bordered()
            .border_style(t.accent)
            .style(t.base)
            .title(Span::styled(
                format!(" {} ", tr(lang, T::StatsTitle)),
                t.title,
            ));
        let inner = block.inner(area);
        f.render_widget(block, area);
        f.render_widget(
            Paragraph::new(Span::styled(tr(lang, T::Loading), t.dim)),
            inner,
        );
        return;
    };
    let w = &st.window;
    let days = match lang {
        crate::lang::Lang::Zh => format!("剩余 {} 天", w.days_left),
        crate::lang::Lang::En => format!("{} days left", w.days_left),
    };
    let title = format!(
        " {} · {} {}–{} · {days} ",
        tr(lang, T::StatsTitle),
        tr(lang, T::Window),
        w.opens.format("%m-%d"),
        w.closes.format("%m-%d"),
    );
    let block = Block::bordered()
        .border_style(t.accent)
        .style(t.base)
        .title(Span::styled(title, t.title));
    let inner = block.inner(area);
    f.render_widget(block, area);

    let mut head: Vec<String> = vec![
        tr(lang, T::StatsSite).into(),
        tr(lang, T::StatsAwaiting).into(),
        tr(lang, T::StatsPending).into(),
        tr(lang, T::StatsPassed).into(),
        tr(lang, T::StatsRejected).into(),
        tr(lang, T::Returned).into(),
    ];
    if st.level == Level::District {
        head.push(tr(lang, T::StatsSiteBacklog).into());
    }
    head.extend([
        tr(lang, T::StatsStale).into(),
        tr(lang, T::StatsPace).into(),
        tr(lang, T::StatsRemaining).into(),
        tr(lang, T::StatsNeeded).into(),
        tr(lang, T::StatsOnTrack).into(),
    ]);
    let mut table: Vec<(Vec<String>, bool)> = st
        .sites
        .iter()
        .map(|r| (cells(s, st, r, &clean(&r.site)), r.on_track))
        .collect();
    table.push((
        cells(s, st, &st.total, tr(lang, T::StatsTotal)),
        st.total.on_track,
    ));
    // Columns as wide as their widest cell, the first gets the rest.
    let mut widths: Vec<usize> = head.iter().map(|h| h.width()).collect();
    for (row, _) in &table {
        for (i, c) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.width());
            }
        }
    }
    let line = |row: &[String]| {
        row.iter()
            .zip(&widths)
            .map(|(c, w)| pad(c, *w))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut lines = vec![Line::from(Span::styled(line(&head), t.dim))];
    for (i, (row, on_track)) in table.iter().enumerate() {
        let total = i + 1 == table.len();
        let style = if !on_track {
            t.warn
        } else if total {
            t.title
        } else {
            t.base
        };
        lines.push(Line::from(Span::styled(line(row), style)));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        tr(lang, T::StatsKeys).replace("{n}", &st.stale_days.to_string()),
        t.dim,
    )));
    f.render_widget(Paragraph::new(lines), inner);
}
