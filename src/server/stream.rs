//! The queue's event stream for one subscriber: the event log is the
//! truth, the in-process broadcast only says "something was appended".
//!
//! A stream starts at the log's end, or after the number a reconnecting
//! console sends as `Last-Event-ID`, and sends every logged change in its
//! scope in order, each exactly once, with its number as the SSE `id`.
//! When the broadcast's next change is the next number it is sent as it
//! is; otherwise (a gap, a lagging receiver) the stream reads the log.
//!
//! Numbers are taken at insert but become visible at commit, which under
//! concurrent transactions (PostgreSQL, several instances) need not be in
//! order: a stream that sees N+2 before N+1 waits for N+1 a little
//! ([`GAP_PATIENCE`]) before taking it for a rolled-back transaction's
//! number that will never appear.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::Instant;

use super::store::{Change, EventLog, ReviewerInfo, Store, StoreResult};

/// How long a missing number may hold back the ones after it.
pub const GAP_PATIENCE: Duration = Duration::from_secs(2);
/// Log rows read per round trip while catching up.
const BATCH: u32 = 500;

/// What the stream sends next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Change(Arc<Change>),
    /// The requested position is no longer (or never was) in the log:
    /// reload everything, then follow from `newest`.
    Reset {
        newest: i64,
    },
}

pub struct Subscriber {
    store: Arc<dyn Store>,
    rx: broadcast::Receiver<Arc<Change>>,
    who: ReviewerInfo,
    /// The last number sent or skipped (out of scope).
    last: i64,
    ready: VecDeque<Item>,
    /// Since when the log has had a gap right after `last`.
    gap_since: Option<Instant>,
}

impl Subscriber {
    /// Subscribe first, then read the log's end, so nothing falls between.
    pub async fn start(
        store: Arc<dyn Store>,
        rx: broadcast::Receiver<Arc<Change>>,
        who: ReviewerInfo,
        resume_after: Option<i64>,
    ) -> StoreResult<Subscriber> {
        let range = store.events_after(i64::MAX, 0).await?;
        let mut s = Subscriber {
            store,
            rx,
            who,
            last: range.newest,
            ready: VecDeque::new(),
            gap_since: None,
        };
        if let Some(after) = resume_after {
            let lost = after > range.newest || (range.oldest > 0 && after < range.oldest - 1);
            if lost {
                s.ready.push_back(Item::Reset {
                    newest: range.newest,
                });
            } else {
                s.last = after;
                s.catch_up().await?;
            }
        }
        Ok(s)
    }

    /// The next item; None when the broadcast has closed (shutdown).
    pub async fn next(&mut self) -> Option<StoreResult<Item>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(Ok(item));
            }
            // While a gap holds numbers back, look again every 100 ms.
            let gap = self.gap_since.is_some();
            let got = tokio::select! {
                r = self.rx.recv() => Some(r),
                _ = tokio::time::sleep(Duration::from_millis(100)), if gap => None,
            };
            let res = match got {
                Some(Ok(change)) if change.seq == 0 || change.seq <= self.last => Ok(()),
                Some(Ok(change)) if change.seq == self.last + 1 && self.gap_since.is_none() => {
                    self.take(change);
                    Ok(())
                }
                Some(Ok(_)) | Some(Err(broadcast::error::RecvError::Lagged(_))) | None => {
                    self.catch_up().await
                }
                Some(Err(broadcast::error::RecvError::Closed)) => return None,
            };
            if let Err(e) = res {
                return Some(Err(e));
            }
        }
    }

    fn take(&mut self, change: Arc<Change>) {
        self.last = change.seq;
        if self.who.sees(&change.district, &change.site) {
            self.ready.push_back(Item::Change(change));
        }
    }

    /// Read the log after `last`: everything up to the first gap, and past
    /// a gap once it has outlasted [`GAP_PATIENCE`].
    async fn catch_up(&mut self) -> StoreResult<()> {
        loop {
            let EventLog { changes, .. } = self.store.events_after(self.last, BATCH).await?;
            let full = changes.len() == BATCH as usize;
            for c in changes {
                if c.seq != self.last + 1 {
                    let since = *self.gap_since.get_or_insert_with(Instant::now);
                    if since.elapsed() < GAP_PATIENCE {
                        return Ok(());
                    }
                }
                self.gap_since = None;
                self.take(Arc::new(c));
            }
            if !full {
                return Ok(());
            }
        }
    }
}
