//! The candidate: identity line, material strip, the image with its
//! caption, and the feedback/audit panel.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use crate::api::dto::{CandidateDetail, ImageDto};
use crate::app::state::{CandidateView, ClaimState, State};
use crate::domain::category::MaterialCategory;
use crate::domain::image::{Lock, Verdict};
use crate::domain::text::clean;
use crate::lang::Lang;

use super::i18n::{self, T, tr};
use super::{ImagePainter, Theme, fit};

fn cat_short(lang: Lang, c: MaterialCategory) -> &'static str {
    match lang {
        Lang::Zh => c.short_zh(),
        Lang::En => c.short_en(),
    }
}

fn cat_name(lang: Lang, c: MaterialCategory) -> &'static str {
    match lang {
        Lang::Zh => c.name_zh(),
        Lang::En => c.name_en(),
    }
}

/// 正面 / front for fixed slots, the 1-based number otherwise.
fn slot(lang: Lang, img: &ImageDto) -> String {
    let labels = img.category.slot_labels();
    match labels.get(usize::from(img.slot)) {
        Some((zh, en)) => match lang {
            Lang::Zh => (*zh).to_string(),
            Lang::En => (*en).to_string(),
        },
        None => (img.slot + 1).to_string(),
    }
}

/// The identity line: name · masked ID · category · education school.
fn identity(s: &State, c: &CandidateView) -> String {
    match &c.detail {
        Some(d) => {
            let id = c.revealed.as_deref().unwrap_or(&d.id_number);
            format!(
                " {} · {} · {} · {} {} ",
                clean(&d.name),
                clean(id),
                clean(&d.exam_category),
                clean(&d.education),
                clean(&d.school)
            )
        }
        None => format!(" {} · {} ", clean(&c.name()), tr(s.lang, T::Loading)),
    }
}

/// The title; a revealed ID number stands out (it is audited) and says
/// so right beside it, first to be kept when the line is cut.
fn title_line(s: &State, c: &CandidateView, t: &Theme, room: usize) -> Line<'static> {
    let (Some(d), Some(id)) = (&c.detail, &c.revealed) else {
        return Line::from(Span::styled(fit(&identity(s, c), room), t.title));
    };
    let head = format!(" {} · ", clean(&d.name));
    let id = format!("{}（{}）", clean(id), tr(s.lang, T::RevealedShort));
    let tail = format!(
        " · {} · {} {} ",
        clean(&d.exam_category),
        clean(&d.education),
        clean(&d.school)
    );
    let left = room.saturating_sub(head.width() + id.width());
    Line::from(vec![
        Span::styled(head, t.title),
        Span::styled(id, t.warn),
        Span::styled(fit(&tail, left), t.title),
    ])
}

fn info_line(s: &State, c: &CandidateView, d: &CandidateDetail, t: &Theme) -> Line<'static> {
    let lang = s.lang;
    let claim = match &c.claim {
        ClaimState::Mine { .. } => (tr(lang, T::ClaimMine).to_string(), t.ok),
        ClaimState::Requesting => (tr(lang, T::ClaimAsking).to_string(), t.dim),
        ClaimState::HeldBy { who, .. } => {
            (format!("{} {}", tr(lang, T::ClaimHeld), clean(who)), t.warn)
        }
        ClaimState::Failed => (tr(lang, T::ClaimNone).to_string(), t.dim),
    };
    let mut spans = vec![Span::styled(
        format!(
            "{} · {} · {} {} · {} {} · {} {} · ",
            clean(&d.gender),
            d.birth_date,
            tr(lang, T::RegNo),
            clean(&d.reg_no),
            tr(lang, T::SiteReview),
            i18n::status_name(lang, d.site_review.state),
            tr(lang, T::DistrictReview),
            i18n::status_name(lang, d.district_review.state),
        ),
        t.base,
    )];
    spans.push(Span::styled(claim.0, claim.1));
    Line::from(spans)
}

/// `身份证明 [✓正面][✓反面]  学历证明 [·1]  试用期考核 [✗1 模糊] [·1 ⚑模糊]`,
/// laid out in lines of `width`: a category's label and its tabs (each
/// with its badge) never part at a line end; a flagged tab is in the
/// warning style.
fn strip(
    s: &State,
    c: &CandidateView,
    d: &CandidateDetail,
    t: &Theme,
    width: usize,
) -> Vec<Line<'static>> {
    let lang = s.lang;
    let mut groups: Vec<Vec<Span<'static>>> = Vec::new();
    let mut n = 0usize;
    for m in &d.materials {
        if m.images.is_empty() {
            continue;
        }
        let mut g = vec![Span::styled(
            format!("{} ", cat_short(lang, m.category)),
            t.base,
        )];
        for img in &m.images {
            let (mark, style) = match img.verdict {
                Verdict::Accepted => ("✓", t.ok),
                Verdict::Unreviewed => ("·", t.base),
                Verdict::ReplaceRequested => ("✗", t.err),
            };
            let mut label = format!("{mark}{}", slot(lang, img));
            if img.verdict == Verdict::ReplaceRequested
                && let Some(r) = img.reasons.first()
            {
                label.push(' ');
                label.push_str(&i18n::reason_short(lang, r));
            }
            // Once unlocked, the reason says it; the badge is for what
            // still waits for a look.
            let flagged = img.hints.any() && img.verdict != Verdict::ReplaceRequested;
            if flagged {
                label.push_str(&format!(
                    " {}{}",
                    super::glyph(s, "⚑", "!"),
                    first_hint(lang, img)
                ));
            }
            let style = if n == c.image {
                t.current
            } else if flagged {
                t.warn
            } else {
                style
            };
            g.push(Span::styled(format!("[{label}]"), style));
            n += 1;
        }
        groups.push(g);
    }
    if groups.is_empty() {
        return vec![Line::from(Span::styled(tr(lang, T::NoImages), t.dim))];
    }
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut used = 0usize;
    for g in groups {
        let w: usize = g.iter().map(|sp| sp.width()).sum();
        if !cur.is_empty() && used + 2 + w > width {
            lines.push(Line::from(std::mem::take(&mut cur)));
            used = 0;
        }
        if !cur.is_empty() {
            cur.push(Span::raw("  "));
            used += 2;
        }
        used += w;
        cur.extend(g);
    }
    lines.push(Line::from(cur));
    lines
}

/// The first hint's word, for the tab's badge.
fn first_hint(lang: Lang, img: &ImageDto) -> String {
    hint_words(lang, img)
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Quality hints as words: 模糊 · 方向不正 · 尺寸过小 · 与他人重复; 清晰 if none.
pub fn hint_words(lang: Lang, img: &ImageDto) -> String {
    let h = &img.hints;
    let mut v = Vec::new();
    if h.blurry {
        v.push(tr(lang, T::Blurry));
    }
    if h.not_upright {
        v.push(tr(lang, T::NotUpright));
    }
    if h.too_small {
        v.push(tr(lang, T::TooSmall));
    }
    if !h.duplicate_of.is_empty() || !h.near_duplicate_of.is_empty() {
        v.push(tr(lang, T::Duplicate));
    }
    if h.over_size {
        v.push(tr(lang, T::OverSize));
    }
    if h.wrong_format {
        v.push(tr(lang, T::WrongFormat));
    }
    if v.is_empty() {
        tr(lang, T::Clear).to_string()
    } else {
        v.join(" ")
    }
}

/// `身份证明 · 反面`
pub fn image_name(lang: Lang, img: &ImageDto) -> String {
    format!("{} · {}", cat_name(lang, img.category), slot(lang, img))
}

/// The caption as a title line: the quality hints in the warning style.
fn caption_line(
    lang: Lang,
    img: &ImageDto,
    n: usize,
    of: usize,
    width: usize,
    t: &Theme,
) -> Line<'static> {
    let text = fit(&caption(lang, img, n, of), width);
    let hints = hint_words(lang, img);
    if !img.hints.any() {
        return Line::from(Span::styled(text, t.accent));
    }
    // The hints end the caption; if the fit cut them, warn the whole line.
    match text.rfind(&hints) {
        Some(at) => Line::from(vec![
            Span::styled(text[..at].to_string(), t.accent),
            Span::styled(format!("⚑ {}", &text[at..]), t.warn),
        ]),
        None => Line::from(Span::styled(text, t.warn)),
    }
}

/// `身份证明 · 反面 · 2/2 · 186 KB · 1600×1000 · 清晰`
pub fn caption(lang: Lang, img: &ImageDto, n: usize, of: usize) -> String {
    format!(
        " {} · {} · {n}/{of} · {} KB · {}×{} · {} ",
        cat_name(lang, img.category),
        slot(lang, img),
        (img.bytes + 1023) / 1024,
        img.width,
        img.height,
        hint_words(lang, img),
    )
}

/// The verdict line above the image, in the words candidates know.
fn verdict_line(lang: Lang, img: &ImageDto, t: &Theme) -> Line<'static> {
    let lock = match img.lock {
        Lock::Locked => tr(lang, T::Locked),
        Lock::Unlocked => tr(lang, T::UnlockedWord),
    };
    match img.verdict {
        Verdict::Accepted => Line::from(Span::styled(format!("✓ {}", tr(lang, T::Accepted)), t.ok)),
        Verdict::Unreviewed => Line::from(Span::styled(
            format!("· {} · {lock}", tr(lang, T::Unreviewed)),
            t.dim,
        )),
        Verdict::ReplaceRequested => {
            let reasons: Vec<String> = img
                .reasons
                .iter()
                .map(|r| i18n::reason_long(lang, r))
                .collect();
            let mut text = format!(
                "✗ {}：{}",
                tr(lang, T::ReplaceRequested),
                reasons.join("；")
            );
            if let Some(n) = &img.note {
                text.push_str(&format!(" · {}", clean(n)));
            }
            if img.replaced {
                text.push_str(&format!(" · {}", tr(lang, T::Replaced)));
            }
            Line::from(Span::styled(text, t.err))
        }
    }
}

pub fn draw(f: &mut Frame, s: &State, t: &Theme, area: Rect, images: &mut dyn ImagePainter) {
    let Some(c) = &s.cand else { return };
    let room = usize::from(area.width.saturating_sub(4));
    let block = Block::bordered()
        .border_style(t.border)
        .title(title_line(s, c, t, room));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(d) = &c.detail else { return };
    let (main, side) = if c.panel && inner.width >= 70 {
        let [m, p] = Layout::horizontal([Constraint::Min(40), Constraint::Length(34)]).areas(inner);
        (m, Some(p))
    } else if c.panel {
        // Narrow: the panel takes the pane.
        (Rect::default(), Some(inner))
    } else {
        (inner, None)
    };
    if main.height > 0 {
        let strip_lines = strip(s, c, d, t, usize::from(main.width.max(1)));
        let strip_h = u16::try_from(strip_lines.len().clamp(1, 3)).unwrap_or(1);
        let [info, strip_area, pane] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(strip_h),
            Constraint::Min(3),
        ])
        .areas(main);
        f.render_widget(Paragraph::new(info_line(s, c, d, t)), info);
        f.render_widget(Paragraph::new(strip_lines), strip_area);
        image_pane(f, s, c, t, pane, images);
    }
    if let Some(p) = side {
        panel(f, s, d, c, t, p);
    }
}

fn image_pane(
    f: &mut Frame,
    s: &State,
    c: &CandidateView,
    t: &Theme,
    area: Rect,
    images: &mut dyn ImagePainter,
) {
    let imgs = c.images();
    let Some(img) = imgs.get(c.image) else {
        f.render_widget(
            Paragraph::new(Span::styled(tr(s.lang, T::NoImages), t.dim)),
            area,
        );
        return;
    };
    let cap = caption_line(
        s.lang,
        img,
        c.image + 1,
        imgs.len(),
        usize::from(area.width.saturating_sub(6)),
        t,
    );
    let block = Block::bordered().border_style(t.border).title(cap);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let [banner, pic] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    f.render_widget(Paragraph::new(verdict_line(s.lang, img, t)), banner);
    images.paint(f, pic, img, None, s.popup_open(), t);
}

fn panel(f: &mut Frame, s: &State, d: &CandidateDetail, c: &CandidateView, t: &Theme, area: Rect) {
    let lang = s.lang;
    let w = usize::from(area.width.saturating_sub(2));
    let mut lines = vec![Line::from(Span::styled(tr(lang, T::Feedback), t.title))];
    if d.feedback.is_empty() {
        lines.push(Line::from(Span::styled(tr(lang, T::NoFeedback), t.dim)));
    }
    for fb in &d.feedback {
        lines.push(Line::from(Span::styled(
            fit(
                &format!(
                    "{} {} {}",
                    i18n::time(fb.created_at, s.now),
                    i18n::channel(lang, fb.channel),
                    clean(&fb.author)
                ),
                w,
            ),
            t.dim,
        )));
        lines.push(Line::from(Span::styled(
            format!(" {}", clean(&fb.body)),
            t.base,
        )));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(tr(lang, T::AuditLog), t.title)));
    match &c.audit {
        None => lines.push(Line::from(Span::styled(tr(lang, T::Loading), t.dim))),
        Some(items) if items.is_empty() => {
            lines.push(Line::from(Span::styled(tr(lang, T::NoFeedback), t.dim)))
        }
        Some(items) => {
            for e in items.iter().rev() {
                lines.extend(super::history::lines(lang, e, d, s.now, t));
            }
        }
    }
    let block = Block::bordered().border_style(t.border);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

pub fn zoom(f: &mut Frame, s: &State, t: &Theme, area: Rect, images: &mut dyn ImagePainter) {
    let Some(c) = &s.cand else { return };
    let imgs = c.images();
    let Some(img) = imgs.get(c.image) else { return };
    let factor = crate::images::view::ZOOM_STEPS
        .get(usize::from(s.zoom.zoom))
        .copied()
        .unwrap_or(1.0);
    let scale = if s.zoom.one_to_one {
        "1:1".to_string()
    } else {
        format!("×{factor}")
    };
    let cap = format!(
        "{}{}· {scale} ",
        caption(s.lang, img, c.image + 1, imgs.len()),
        if s.zoom.rotation > 0 {
            format!("· ↻{}° ", u16::from(s.zoom.rotation) * 90)
        } else {
            String::new()
        },
    );
    let block = Block::bordered()
        .border_style(t.border)
        .title(Span::styled(
            fit(&cap, usize::from(area.width.saturating_sub(4))),
            t.accent,
        ))
        .title_bottom(Span::styled(
            format!(" {} ", tr(s.lang, T::ZoomKeys)),
            t.dim,
        ));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [banner, pic] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    f.render_widget(Paragraph::new(verdict_line(s.lang, img, t)), banner);
    images.paint(f, pic, img, Some(s.zoom), s.popup_open(), t);
}
