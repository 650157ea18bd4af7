//! One audit event in words, for the history panel (`h`): when, who, what
//! was decided or done to which image, the reasons' labels, the note; an
//! undone event is marked as such. Everything from the server is
//! sanitised.

use chrono::{DateTime, Utc};
use ratatui::text::{Line, Span};

use crate::api::dto::{AuditEventDto, CandidateDetail};
use crate::domain::review::{Level, ReviewStatus};
use crate::domain::text::clean;
use crate::lang::Lang;

use super::Theme;
use super::i18n::{self, T, tr};

fn level_word(lang: Lang, l: Level) -> &'static str {
    match l {
        Level::Site => tr(lang, T::SiteReview),
        Level::District => tr(lang, T::DistrictReview),
    }
}

/// The decision an event's after-snapshot records: (level, state).
fn decision(e: &AuditEventDto) -> Option<(Level, ReviewStatus)> {
    let level: Level = serde_json::from_value(e.after.get("level")?.clone()).ok()?;
    let state: ReviewStatus =
        serde_json::from_value(e.after.get(level.as_str())?.get("state")?.clone()).ok()?;
    Some((level, state))
}

fn image_of(d: &CandidateDetail, target: &str, lang: Lang) -> Option<String> {
    let id: i64 = target.strip_prefix("image:")?.parse().ok()?;
    d.materials
        .iter()
        .flat_map(|m| m.images.iter())
        .find(|i| i.id == id)
        .map(|i| super::candidate::image_name(lang, i))
}

/// What the event did, in words (without who and when).
pub fn what(lang: Lang, e: &AuditEventDto, d: &CandidateDetail) -> String {
    let sep = if lang == Lang::Zh { "；" } else { "; " };
    let reasons: Vec<String> = e
        .reasons
        .iter()
        .map(|r| i18n::reason_long(lang, r))
        .collect();
    let mut text = match e.action.as_str() {
        "candidate.decision" => match decision(e) {
            Some((level, state)) => format!(
                "{}{}",
                level_word(lang, level),
                i18n::status_name(lang, state)
            ),
            None => i18n::audit_action(lang, &e.action),
        },
        "image.lock" | "image.unlock" => {
            let img = image_of(d, &e.target, lang).unwrap_or_else(|| clean(&e.target));
            format!("{} {img}", i18n::audit_action(lang, &e.action))
        }
        "undo" => format!(
            "{} #{}",
            i18n::audit_action(lang, &e.action),
            e.undoes.unwrap_or_default()
        ),
        other => i18n::audit_action(lang, other),
    };
    if !reasons.is_empty() {
        text.push_str(if lang == Lang::Zh { "：" } else { ": " });
        text.push_str(&reasons.join(sep));
    }
    if let Some(n) = e.note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        text.push_str(sep);
        text.push_str(&format!("{}: {}", tr(lang, T::Note), clean(n)));
    }
    text
}

/// The two lines of one event: `#id 03-09 10:32 nanjing` and what it did.
pub fn lines(
    lang: Lang,
    e: &AuditEventDto,
    d: &CandidateDetail,
    now: DateTime<Utc>,
    t: &Theme,
) -> Vec<Line<'static>> {
    let mut head = vec![Span::styled(
        format!("#{} {} {}", e.id, i18n::time(e.at, now), clean(&e.actor)),
        t.dim,
    )];
    if e.undone_by.is_some() {
        head.push(Span::styled(
            format!(" 〔{}〕", tr(lang, T::Undone)),
            t.warn,
        ));
    }
    let body_style = if e.undone_by.is_some() { t.dim } else { t.base };
    vec![
        Line::from(head),
        Line::from(Span::styled(format!(" {}", what(lang, e, d)), body_style)),
    ]
}
