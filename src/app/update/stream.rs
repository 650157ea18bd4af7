//! Live events from the server: reconnects, resyncs, and other reviewers'
//! changes to the queue and to the dossier on screen.

use chrono::Duration;

use crate::api::client::StreamEvent;
use crate::app::action::Effect;
use crate::app::state::*;
use crate::domain::review::Level;

use super::candidate::load_candidate;
use super::ops::pump;
use super::queue::{keep_visible, move_count, reload_queue};
use super::session::api_error;
use super::{info, warn};

pub(super) fn stream(s: &mut State, ev: StreamEvent) -> Vec<Effect> {
    match ev {
        StreamEvent::Alive => {
            s.live.heard(s.now);
            let now = s.conn.clone();
            let next = s.live.conn(&now, s.now);
            if next != now {
                // The same connection came back (SIGCONT, a stalled link):
                // nothing was missed, the stream buffered it.
                s.conn = next;
                s.dirty = true;
                info(s, StatusMsg::Reconnected);
            }
            vec![]
        }
        StreamEvent::Connected => {
            s.live.connected(s.now);
            let was = std::mem::replace(&mut s.conn, Conn::Connected);
            if was != Conn::Reconnecting || s.session.is_none() {
                return vec![];
            }
            info(s, StatusMsg::Reconnected);
            // Events were missed while away: the queue (rows and counts)
            // and the open dossier again.
            let mut fx = reload_queue(s);
            if let Some(id) = s.cand.as_ref().map(|c| c.id) {
                fx.extend(load_candidate(s, id));
            }
            // The link is back: what waits goes now, not at its backoff.
            let in_flight = s.outbox.in_flight;
            if let Some(h) = s.outbox.items.front_mut()
                && in_flight != Some(h.id)
            {
                h.retry_at = None;
            }
            fx.extend(pump(s));
            fx
        }
        StreamEvent::Resync => {
            // Missed events: counts now, the dossier on screen too.
            s.queue.counts_stale_since = Some(s.now - Duration::seconds(10));
            match s.cand.as_ref().map(|c| c.id) {
                Some(id) => load_candidate(s, id),
                None => vec![],
            }
        }
        StreamEvent::Disconnected(e) => {
            s.live.lost();
            s.conn = Conn::Reconnecting;
            if e.is_unauthorized() {
                return api_error(s, e);
            }
            vec![]
        }
        StreamEvent::Event(ev) => {
            let Some(level) = s.level() else {
                return vec![];
            };
            let new_state = match level {
                Level::Site => ev.site_review,
                Level::District => ev.district_review,
            };
            let mine = s.username() == Some(ev.actor.as_str());
            let tab = s.queue.tab.status();
            match s.queue.rows.iter().position(|r| r.id == ev.candidate_id) {
                Some(i) => {
                    let old = s.queue.rows[i].state;
                    if ev.version >= s.queue.rows[i].version {
                        // Our own decisions were counted when made.
                        if !mine {
                            move_count(s, old, new_state);
                        }
                        let r = &mut s.queue.rows[i];
                        r.state = new_state;
                        r.site_review = ev.site_review;
                        r.district_review = ev.district_review;
                        r.version = ev.version;
                        // Age is "since the candidate's last change": a
                        // claim is not a change.
                        if !matches!(ev.action.as_str(), "claim" | "release") {
                            r.updated_at = ev.at;
                        }
                        r.claim = ev.claim.clone().map(|mut c| {
                            c.mine = s
                                .session
                                .as_ref()
                                .is_some_and(|x| x.reviewer.username == c.reviewer);
                            c
                        });
                        let open = s.cand.as_ref().map(|c| c.id) == Some(ev.candidate_id);
                        if new_state != tab && !open {
                            s.queue.rows.remove(i);
                            if s.queue.selected > i {
                                s.queue.selected -= 1;
                            }
                            keep_visible(s);
                        }
                    }
                }
                None => {
                    if !mine {
                        s.queue.counts_stale_since.get_or_insert(s.now);
                    }
                }
            }
            // Someone else changed the candidate on screen: show the truth.
            let mut fx = Vec::new();
            let is_claim = matches!(ev.action.as_str(), "claim" | "release");
            if !mine
                && !is_claim
                && let Some(c) = s.cand.as_ref().filter(|c| c.id == ev.candidate_id)
                && c.detail.as_ref().is_some_and(|d| ev.version > d.version)
            {
                let id = c.id;
                warn(
                    s,
                    StatusMsg::ChangedBy {
                        who: ev.actor.clone(),
                    },
                );
                fx.extend(load_candidate(s, id));
            }
            fx
        }
    }
}
