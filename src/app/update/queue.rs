//! The queue table: fetching pages (the latest request wins), selection
//! and scrolling, the tab counts, and finding the next row nobody else
//! holds.

use chrono::{DateTime, Utc};

use crate::api::dto::{CandidateQuery, CandidateSummary};
use crate::api::error::ApiError;
use crate::app::action::Effect;
use crate::app::state::*;
use crate::domain::review::ReviewStatus;

use super::session::api_error;

/// Rows fetched per page; the next page is asked for this far ahead.
pub const PAGE: u32 = 200;

const PREFETCH_ROWS: usize = 100;

/// Search as you type: the query goes to the server once typing pauses
/// this long (the tick is 250 ms, so 250–500 ms after the last key).
pub const SEARCH_DEBOUNCE_MS: i64 = 200;

/// A key in the search line: the filter follows what is typed.
pub(super) fn search_typed(s: &mut State, i: &Input) {
    if i.kind == InputKind::Search {
        s.queue.query = i.text.trim().to_string();
        s.queue.search_due = Some(s.now);
    }
}

/// Esc in the search line: the filter it had before.
pub(super) fn search_cancelled(s: &mut State) -> Vec<Effect> {
    s.queue.search_due = None;
    let before = s.queue.search_before.take().unwrap_or_default();
    if before == s.queue.query {
        return vec![];
    }
    s.queue.query = before;
    reload_queue(s)
}

/// On the tick: send the query typed so far once typing has paused.
pub(super) fn search_tick(s: &mut State) -> Vec<Effect> {
    match s.queue.search_due {
        Some(at) if (s.now - at).num_milliseconds() >= SEARCH_DEBOUNCE_MS => {
            s.queue.search_due = None;
            s.queue.selected = 0;
            s.queue.offset = 0;
            reload_queue(s)
        }
        _ => vec![],
    }
}

/// Rows of the queue table for a terminal `height` rows tall (header 2,
/// status 2, borders 2, column titles 1).
pub fn queue_rows(height: u16) -> usize {
    usize::from(height.saturating_sub(7)).max(1)
}

pub fn query(s: &State, cursor: Option<String>) -> CandidateQuery {
    CandidateQuery {
        state: Some(s.queue.tab.status().as_str().to_string()),
        q: Some(s.queue.query.clone()).filter(|q| !q.is_empty()),
        cursor,
        limit: Some(PAGE),
        order: None,
    }
}

/// `G`: the real end of the tab. When it is not loaded yet, its last page
/// is fetched from the end (the rows above it come as one scrolls up).
pub(super) fn to_end(s: &mut State) -> Vec<Effect> {
    if s.queue.next_cursor.is_none() {
        return move_sel(s, i64::MAX / 2);
    }
    let req = s.req();
    s.queue.loading_back = Some((req, true));
    let mut q = query(s, None);
    q.order = Some("desc".into());
    vec![Effect::FetchPage { req, query: q }]
}

/// `g`: the start of the tab (loaded again if `G` left it).
pub(super) fn to_start(s: &mut State) -> Vec<Effect> {
    if s.queue.base > 0 {
        s.queue.selected = 0;
        s.queue.offset = 0;
        return reload_queue(s);
    }
    move_sel(s, i64::MIN / 2)
}

/// Near the top of rows that start mid-tab: the rows above them.
fn earlier_if_needed(s: &mut State) -> Vec<Effect> {
    let q = &s.queue;
    if q.base == 0 || q.loading_back.is_some() || q.selected > PREFETCH_ROWS.min(q.rows.len()) {
        return vec![];
    }
    let Some(cursor) = q.prev_cursor.clone() else {
        return vec![];
    };
    let req = s.req();
    s.queue.loading_back = Some((req, false));
    let mut query = query(s, Some(cursor));
    query.order = Some("desc".into());
    vec![Effect::FetchPage { req, query }]
}

/// A backwards page: reversed into queue order, at the end or above.
fn back_page_done(s: &mut State, jump: bool, list: crate::api::dto::CandidateList) -> Vec<Effect> {
    let mut items = list.items;
    items.reverse();
    let n = items.len();
    s.queue.counts = list.counts;
    let total = usize::try_from(s.queue.tab.count(&s.queue.counts)).unwrap_or(0);
    if jump {
        s.queue.rows = items;
        s.queue.base = total.saturating_sub(n);
        s.queue.next_cursor = None;
        s.queue.selected = n.saturating_sub(1);
    } else {
        let have: std::collections::HashSet<i64> = s.queue.rows.iter().map(|r| r.id).collect();
        let mut above: Vec<_> = items
            .into_iter()
            .filter(|r| !have.contains(&r.id))
            .collect();
        let k = above.len();
        above.append(&mut s.queue.rows);
        s.queue.rows = above;
        s.queue.base = s.queue.base.saturating_sub(k);
        s.queue.selected += k;
        s.queue.offset += k;
    }
    s.queue.prev_cursor = list.next_cursor;
    if s.queue.prev_cursor.is_none() {
        s.queue.base = 0;
    }
    s.queue.loaded = true;
    keep_visible(s);
    vec![]
}

pub(super) fn reload_queue(s: &mut State) -> Vec<Effect> {
    let req = s.req();
    s.queue.loading = Some((req, true));
    vec![Effect::FetchPage {
        req,
        query: query(s, None),
    }]
}

pub(super) fn more_if_needed(s: &mut State) -> Vec<Effect> {
    let q = &s.queue;
    if q.loading.is_none()
        && q.next_cursor.is_some()
        && q.selected + PREFETCH_ROWS.max(queue_rows(s.size.1) * 2) >= q.rows.len()
    {
        let cursor = q.next_cursor.clone();
        let req = s.req();
        s.queue.loading = Some((req, false));
        return vec![Effect::FetchPage {
            req,
            query: query(s, cursor),
        }];
    }
    vec![]
}

pub(super) fn keep_visible(s: &mut State) {
    let rows = queue_rows(s.size.1);
    let q = &mut s.queue;
    if q.selected >= q.rows.len() {
        q.selected = q.rows.len().saturating_sub(1);
    }
    if q.selected < q.offset {
        q.offset = q.selected;
    } else if q.selected >= q.offset + rows {
        q.offset = q.selected + 1 - rows;
    }
    let max_offset = q.rows.len().saturating_sub(rows);
    q.offset = q.offset.min(max_offset);
}

pub(super) fn move_sel(s: &mut State, d: i64) -> Vec<Effect> {
    let n = s.queue.rows.len() as i64;
    if n == 0 {
        return vec![];
    }
    let i = (s.queue.selected as i64).saturating_add(d).clamp(0, n - 1);
    s.queue.selected = usize::try_from(i).unwrap_or(0);
    keep_visible(s);
    let mut fx = more_if_needed(s);
    fx.extend(earlier_if_needed(s));
    fx
}

pub(super) fn page_done(
    s: &mut State,
    req: u64,
    result: Result<Box<crate::api::dto::CandidateList>, ApiError>,
) -> Vec<Effect> {
    if let Some((r, jump)) = s.queue.loading_back
        && r == req
    {
        s.queue.loading_back = None;
        return match result {
            Ok(list) => back_page_done(s, jump, *list),
            Err(e) => api_error(s, e),
        };
    }
    if s.queue.counts_req == Some(req) {
        s.queue.counts_req = None;
        if let Ok(list) = result {
            s.queue.counts = list.counts;
        }
        return vec![];
    }
    let Some((r, fresh)) = s.queue.loading else {
        return vec![];
    };
    if r != req {
        // A newer request superseded this one (latest wins).
        return vec![];
    }
    s.queue.loading = None;
    match result {
        Ok(list) => {
            let list = *list;
            s.queue.counts = list.counts;
            s.queue.next_cursor = list.next_cursor;
            if fresh {
                let keep = s.queue.selected;
                s.queue.base = 0;
                s.queue.prev_cursor = None;
                s.queue.loading_back = None;
                s.queue.rows = list.items;
                s.queue.selected = keep.min(s.queue.rows.len().saturating_sub(1));
            } else {
                // Rows already held (moved by events) are not duplicated.
                let have: std::collections::HashSet<i64> =
                    s.queue.rows.iter().map(|r| r.id).collect();
                s.queue
                    .rows
                    .extend(list.items.into_iter().filter(|r| !have.contains(&r.id)));
            }
            s.queue.loaded = true;
            keep_visible(s);
            more_if_needed(s)
        }
        Err(e) => api_error(s, e),
    }
}

fn claimed_by_other(r: &CandidateSummary, now: DateTime<Utc>) -> bool {
    r.claim
        .as_ref()
        .is_some_and(|c| !c.mine && c.expires_at > now)
}

/// The next row from `from` in direction `dir` (inclusive of `from`) that
/// nobody else holds and is not `skip`.
pub(super) fn find_open(s: &State, from: i64, dir: i64, skip: Option<i64>) -> Option<usize> {
    let n = s.queue.rows.len() as i64;
    let mut i = from;
    while i >= 0 && i < n {
        let r = &s.queue.rows[usize::try_from(i).ok()?];
        if Some(r.id) != skip && !claimed_by_other(r, s.now) {
            return usize::try_from(i).ok();
        }
        i += dir;
    }
    None
}

pub(super) fn move_count(s: &mut State, from: ReviewStatus, to: ReviewStatus) {
    if from == to {
        return;
    }
    if let Some(n) = count_mut(&mut s.queue.counts, from) {
        *n = (*n - 1).max(0);
    }
    if let Some(n) = count_mut(&mut s.queue.counts, to) {
        *n += 1;
    }
}
