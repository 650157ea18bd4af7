//! What both stores' queue pages share: the tab's condition and the
//! keyset's direction as SQL text, the row a page reads, and the page and
//! counts made from those rows. Each store only runs the statements.

use chrono::{DateTime, Utc};

use super::{ListPage, ListQuery, ReviewerInfo, StoreError, StoreResult};
use crate::api::dto::{CandidateList, CandidateSummary, ClaimDto, Counts};
use crate::domain::claim::Claim;
use crate::domain::review::{Level, ReviewStatus, Reviews};
use crate::server::store::row::row_struct;

/// The columns of a queue row, in the order of [`QueueRow`].
pub(crate) const QUEUE_COLS: &str = "id, reg_no, name, exam_category, site, site_state, \
    district_state, submitted_at, updated_at, version, claim_reviewer, claim_expires_at, \
    image_count, flagged_count, sort_at";

row_struct! {
    ::sqlx::Postgres;
    /// One queue row ([`QUEUE_COLS`]); SQLite reads it column by column
    /// (`sqlite/queue.rs`).
    pub(crate) struct QueueRow {
        pub(crate) id: i64,
        pub(crate) reg_no: String,
        pub(crate) name: String,
        pub(crate) exam_category: String,
        pub(crate) site: String,
        pub(crate) site_state: String,
        pub(crate) district_state: String,
        pub(crate) submitted_at: Option<i64>,
        pub(crate) updated_at: i64,
        pub(crate) version: i64,
        pub(crate) claim_reviewer: Option<String>,
        pub(crate) claim_expires_at: Option<i64>,
        pub(crate) image_count: i64,
        pub(crate) flagged_count: i64,
        pub(crate) sort_at: i64,
    }
}

impl ListQuery {
    /// The search, trimmed, if there is one.
    pub fn search(&self) -> Option<&str> {
        self.q.as_deref().map(str::trim).filter(|q| !q.is_empty())
    }

    /// ` AND …` narrowing the scope to the tab at `level`. Written with
    /// literals, never bound: each tab's condition matches an index of its
    /// own (partial ones among them), and SQLite prepares a statement again
    /// at every run when a bound value decided whether such an index
    /// applies (that once doubled the page's cost).
    pub fn tab_condition(&self, level: Level) -> Option<String> {
        let state = self.state?;
        Some(match (level, state) {
            // A site's returned tab: what the district sent back to it.
            (Level::Site, ReviewStatus::Returned) => {
                " AND site_state = 'awaiting_review' AND district_state = 'returned'".into()
            }
            (Level::Site, s) => format!(" AND site_state = '{}'", s.as_str()),
            (Level::District, s) => format!(" AND district_state = '{}'", s.as_str()),
        })
    }

    /// The keyset comparison after the cursor, and the order's direction:
    /// descending reads from the end of the queue backwards (`G`).
    pub fn direction(&self) -> (&'static str, &'static str) {
        if self.descending {
            ("<", " DESC")
        } else {
            (">", "")
        }
    }

    /// ` ORDER BY … LIMIT …`: one row more than the page, to know whether
    /// another follows.
    pub fn order_and_limit(&self) -> String {
        let (_, dir) = self.direction();
        format!(
            " ORDER BY sort_at{dir}, id{dir} LIMIT {}",
            i64::from(self.limit) + 1
        )
    }
}

/// The claim stored in a row's two columns, if it has not expired.
pub(crate) fn live_claim(
    reviewer: Option<String>,
    expires_at: Option<i64>,
    now: DateTime<Utc>,
) -> Option<Claim> {
    let c = Claim {
        reviewer: reviewer?,
        expires_at: from_ms(expires_at?),
    };
    c.is_live(now).then_some(c)
}

pub(crate) fn claim_dto(live: Option<Claim>, me: Option<&str>) -> Option<ClaimDto> {
    live.map(|c| ClaimDto {
        mine: me == Some(c.reviewer.as_str()),
        reviewer: c.reviewer,
        expires_at: c.expires_at,
    })
}

pub(crate) fn parse_status(s: &str) -> StoreResult<ReviewStatus> {
    ReviewStatus::parse(s).ok_or_else(|| StoreError::Corrupt(format!("review state {s:?}")))
}

/// Milliseconds since the epoch as stored, as a time.
pub(crate) fn from_ms(v: i64) -> DateTime<Utc> {
    use chrono::TimeZone;
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

/// Add `n` candidates in `state` to `counts`. At the site level a
/// candidate the district returned (`other` is `returned`) awaits the site
/// again and also counts as returned.
pub(crate) fn count_into(counts: &mut Counts, state: &str, other: &str, n: i64, site_level: bool) {
    match ReviewStatus::parse(state) {
        Some(ReviewStatus::AwaitingReview) => {
            counts.awaiting_review += n;
            if site_level && other == "returned" {
                counts.returned += n;
            }
        }
        Some(ReviewStatus::Pending) => counts.pending += n,
        Some(ReviewStatus::Passed) => counts.passed += n,
        Some(ReviewStatus::Rejected) => counts.rejected += n,
        Some(ReviewStatus::Returned) => counts.returned += n,
        Some(ReviewStatus::NotStarted) => counts.not_started += n,
        None => {}
    }
}

/// Add one (site state, district state) group to both levels' counts, as
/// their queues count them (the district never sees what the site has not
/// passed or returned).
pub(crate) fn tally(site: &mut Counts, district: &mut Counts, s: &str, d: &str, n: i64) {
    count_into(site, s, d, n, true);
    if d != "not_started" {
        count_into(district, d, "", n, false);
    }
}

/// The counts of the caller's scope from `queue_counts` rows of (state at
/// the caller's level, the other level's state, n).
pub(crate) fn counts_of(who: &ReviewerInfo, rows: Vec<(String, String, i64)>) -> Counts {
    let mut counts = Counts::default();
    for (state, other, n) in rows {
        count_into(&mut counts, &state, &other, n, who.site.is_some());
    }
    counts
}

/// The page from its rows (limit + 1 of them at most, in the queue's
/// order) and its counts' rows.
pub(crate) fn page_of(
    who: &ReviewerInfo,
    query: &ListQuery,
    mut rows: Vec<QueueRow>,
    counts: Vec<(String, String, i64)>,
    now: DateTime<Utc>,
) -> StoreResult<ListPage> {
    let next = if rows.len() > query.limit as usize {
        rows.truncate(query.limit as usize);
        rows.last().map(|r| (r.sort_at, r.id))
    } else {
        None
    };
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let reviews = Reviews {
            site: parse_status(&r.site_state)?,
            district: parse_status(&r.district_state)?,
        };
        items.push(CandidateSummary {
            id: r.id,
            reg_no: r.reg_no,
            name: r.name,
            exam_category: r.exam_category,
            site: r.site,
            state: reviews.at(who.level),
            site_review: reviews.site,
            district_review: reviews.district,
            submitted_at: r.submitted_at.map(from_ms),
            updated_at: from_ms(r.updated_at),
            version: r.version,
            claim: claim_dto(
                live_claim(r.claim_reviewer, r.claim_expires_at, now),
                Some(&who.username),
            ),
            images: r.image_count,
            flagged: r.flagged_count,
        });
    }
    Ok(ListPage {
        list: CandidateList {
            items,
            next_cursor: None,
            counts: counts_of(who, counts),
        },
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(state: Option<ReviewStatus>, q: Option<&str>) -> ListQuery {
        ListQuery {
            state,
            q: q.map(Into::into),
            after: None,
            limit: 50,
            descending: false,
        }
    }

    #[test]
    fn a_blank_search_is_no_search() {
        assert_eq!(query(None, Some("  ")).search(), None);
        assert_eq!(query(None, Some(" xyj ")).search(), Some("xyj"));
        assert_eq!(query(None, None).search(), None);
    }

    #[test]
    fn each_tab_is_its_own_literal_condition() {
        let returned = query(Some(ReviewStatus::Returned), None);
        assert_eq!(
            returned.tab_condition(Level::Site).as_deref(),
            Some(" AND site_state = 'awaiting_review' AND district_state = 'returned'")
        );
        assert_eq!(
            returned.tab_condition(Level::District).as_deref(),
            Some(" AND district_state = 'returned'")
        );
        assert_eq!(
            query(Some(ReviewStatus::Pending), None)
                .tab_condition(Level::Site)
                .as_deref(),
            Some(" AND site_state = 'pending'")
        );
        assert_eq!(query(None, None).tab_condition(Level::Site), None);
        let back = ListQuery {
            descending: true,
            ..query(None, None)
        };
        assert_eq!(back.direction(), ("<", " DESC"));
        assert_eq!(
            back.order_and_limit(),
            " ORDER BY sort_at DESC, id DESC LIMIT 51"
        );
    }
}
