//! The open candidate: opening a row (or an id again), claiming and
//! releasing it, loading its dossier, and the answers to both.

use crate::api::dto::{CandidateSummary, ImageDto};
use crate::api::error::ApiError;
use crate::app::action::Effect;
use crate::app::state::*;
use crate::domain::image::Verdict;
use crate::domain::review::ReviewStatus;

use super::ops::apply_optimistic;
use super::queue::{find_open, keep_visible, more_if_needed};
use super::session::api_error;
use super::{error, idem, info, warn};

pub(super) fn next_candidate(s: &mut State, dir: i64) -> Vec<Effect> {
    let current = s.cand.as_ref().map(|c| c.id);
    let from = match current {
        Some(id) => match s.queue.rows.iter().position(|r| r.id == id) {
            Some(i) => i as i64 + dir,
            None => s.queue.selected as i64,
        },
        None => s.queue.selected as i64,
    };
    match find_open(s, from, dir, current) {
        Some(i) => open_index(s, i),
        None => {
            info(
                s,
                if dir > 0 {
                    StatusMsg::QueueEnd
                } else {
                    StatusMsg::QueueStart
                },
            );
            more_if_needed(s)
        }
    }
}

pub(super) fn open_index(s: &mut State, i: usize) -> Vec<Effect> {
    let Some(row) = s.queue.rows.get(i).cloned() else {
        return vec![];
    };
    let mut fx = Vec::new();
    if s.cand.as_ref().map(|c| c.id) != Some(row.id) {
        fx.extend(release_current(s));
        let id = row.id;
        s.cand = Some(CandidateView {
            id,
            summary: Some(row),
            detail: None,
            loading: None,
            image: 0,
            claim: ClaimState::Requesting,
            panel: false,
            audit: None,
            revealed: None,
            opened_at: s.now,
            focus_image: None,
            flag_confirmed: Vec::new(),
        });
        fx.extend(load_candidate(s, id));
        fx.push(Effect::Claim { id, idem: idem() });
    }
    s.queue.selected = i;
    keep_visible(s);
    if s.screen != Screen::Zoom {
        s.screen = Screen::Candidate;
    }
    fx.extend(more_if_needed(s));
    fx
}

pub(super) fn release_current(s: &mut State) -> Vec<Effect> {
    match &s.cand {
        Some(c) if matches!(c.claim, ClaimState::Mine { .. } | ClaimState::Requesting) => {
            vec![Effect::Release { id: c.id }]
        }
        _ => vec![],
    }
}

pub(super) fn load_candidate(s: &mut State, id: i64) -> Vec<Effect> {
    let req = s.req();
    if let Some(c) = s.cand.as_mut().filter(|c| c.id == id) {
        c.loading = Some(req);
    }
    vec![Effect::LoadCandidate { req, id }]
}

pub(super) fn detail_done(
    s: &mut State,
    req: u64,
    id: i64,
    result: Result<Box<crate::api::dto::CandidateDetail>, ApiError>,
) -> Vec<Effect> {
    let Some(c) = s
        .cand
        .as_mut()
        .filter(|c| c.id == id && c.loading == Some(req))
    else {
        return vec![];
    };
    c.loading = None;
    match result {
        Ok(d) => {
            let first = c.detail.is_none();
            c.detail = Some(d);
            // Ops still unsent are re-applied so the screen shows what the
            // reviewer did, not what the server has heard of so far.
            let pending: Vec<OpKind> = s
                .outbox
                .items
                .iter()
                .filter(|o| o.candidate_id == id)
                .map(|o| o.kind.clone())
                .collect();
            for k in &pending {
                apply_optimistic(c, k);
            }
            let n = c.images().len();
            if c.focus_image.is_some() {
                apply_focus(c);
            } else if first {
                // Straight to the work: the first image nobody judged yet.
                c.image = c
                    .images()
                    .iter()
                    .position(|i| i.verdict == Verdict::Unreviewed)
                    .unwrap_or(0);
            }
            c.image = c.image.min(n.saturating_sub(1));
            vec![]
        }
        Err(e) if e.status() == Some(404) => {
            s.cand = None;
            s.screen = Screen::Queue;
            error(s, StatusMsg::NotFound);
            vec![]
        }
        Err(e) => api_error(s, e),
    }
}

pub(super) fn claim_done(
    s: &mut State,
    id: i64,
    result: Result<Option<crate::api::dto::ClaimDto>, ApiError>,
) -> Vec<Effect> {
    let now = s.now;
    let Some(c) = s.cand.as_mut().filter(|c| c.id == id) else {
        // Claimed something we already left: give it back.
        return if result.is_ok() {
            vec![Effect::Release { id }]
        } else {
            vec![]
        };
    };
    match result {
        Ok(_) => {
            if !matches!(c.claim, ClaimState::Mine { .. }) {
                c.claim = ClaimState::Mine { renewed_at: now };
            }
            vec![]
        }
        Err(e) if e.status() == Some(409) => {
            let p = e.problem();
            let who = p
                .and_then(|p| p.held_by.clone().or_else(|| p.changed_by.clone()))
                .unwrap_or_default();
            let until = p.and_then(|p| p.held_until);
            c.claim = ClaimState::HeldBy {
                who: who.clone(),
                until,
            };
            warn(s, StatusMsg::HeldBy { who, until });
            vec![]
        }
        Err(e) => {
            c.claim = ClaimState::Failed;
            api_error(s, e)
        }
    }
}

/// Open `id` again (after undoing a decision on it).
pub(super) fn reopen(s: &mut State, id: i64, name: &str) -> Vec<Effect> {
    if s.cand.as_ref().map(|c| c.id) == Some(id) {
        return vec![];
    }
    let mut fx = release_current(s);
    let summary = s.queue.rows.iter().find(|r| r.id == id).cloned();
    s.cand = Some(CandidateView {
        id,
        summary: summary.or_else(|| {
            Some(CandidateSummary {
                id,
                reg_no: String::new(),
                name: name.to_string(),
                exam_category: String::new(),
                site: String::new(),
                state: ReviewStatus::AwaitingReview,
                site_review: ReviewStatus::AwaitingReview,
                district_review: ReviewStatus::NotStarted,
                submitted_at: None,
                updated_at: s.now,
                version: 0,
                claim: None,
                images: 0,
                flagged: 0,
            })
        }),
        detail: None,
        loading: None,
        image: 0,
        claim: ClaimState::Requesting,
        panel: false,
        audit: None,
        revealed: None,
        opened_at: s.now,
        focus_image: None,
        flag_confirmed: Vec::new(),
    });
    s.screen = Screen::Candidate;
    fx.extend(load_candidate(s, id));
    fx.push(Effect::Claim { id, idem: idem() });
    fx
}

/// Show the image an undo was about, once the dossier has it.
pub(super) fn apply_focus(c: &mut CandidateView) {
    if let Some(id) = c.focus_image
        && let Some(i) = c.images().iter().position(|img| img.id == id)
    {
        c.image = i;
        c.focus_image = None;
    }
}

/// Used by tests and the ui: the image the pane shows.
pub fn current_image(s: &State) -> Option<&ImageDto> {
    s.cand.as_ref().and_then(|c| c.current_image())
}
