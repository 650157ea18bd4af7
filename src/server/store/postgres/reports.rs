//! The two reports over a reviewer's scope: the follow-up list (whom to
//! call and why: the only way a decision's reasons leave the system, so
//! only decisions past their undo window are in it, and writing it makes
//! them final) and the overview (per site: counts at both levels, stale
//! items, decisions a day, and whether the review window will be met).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Local, NaiveDate, Utc};
use futures::future::BoxFuture;
use sqlx::postgres::PgConnection;
use sqlx::{Postgres, QueryBuilder};

use super::finality::{self, Why};
use super::rows::{CAND_COLS, CandRow};
use super::{PgStore, from_ms, json_list, local_today, ms};
use crate::api::dto::Counts;
use crate::api::reports::{
    DayCount, FollowUpImage, FollowUpList, FollowUpRow, SiteStats, StatsResponse,
};
use crate::domain::category::MaterialCategory;
use crate::domain::identity::mask_id_number;
use crate::domain::review::{Level, ReviewStatus};
use crate::domain::rules::ReviewWindow;
use crate::server::store::queue_page::tally;
use crate::server::store::{ReviewerInfo, StoreError, StoreResult};

/// Days of history the pace is taken over.
const PACE_DAYS: i64 = 7;

/// ` WHERE …` for the caller's scope, and the state at their level.
fn scope(qb: &mut QueryBuilder<Postgres>, who: &ReviewerInfo, state: Option<ReviewStatus>) {
    qb.push(" WHERE district = ")
        .push_bind(who.district.clone());
    match &who.site {
        Some(site) => {
            qb.push(" AND site = ").push_bind(site.clone());
        }
        None => {
            qb.push(" AND district_state <> 'not_started'");
        }
    }
    match (who.level, state) {
        (_, None) => {}
        (Level::Site, Some(ReviewStatus::Returned)) => {
            qb.push(" AND site_state = 'awaiting_review' AND district_state = 'returned'");
        }
        (Level::Site, Some(s)) => {
            qb.push(" AND site_state = ").push_bind(s.as_str());
        }
        (Level::District, Some(s)) => {
            qb.push(" AND district_state = ").push_bind(s.as_str());
        }
    }
}

fn add(a: &mut Counts, b: &Counts) {
    a.awaiting_review += b.awaiting_review;
    a.pending += b.pending;
    a.passed += b.passed;
    a.rejected += b.rejected;
    a.returned += b.returned;
    a.not_started += b.not_started;
}

/// Pace, remaining work and the projection of one row.
fn project(row: &mut SiteStats, level: Level, days_left: i64) {
    let decided: i64 = row.per_day.iter().map(|d| d.decisions).sum();
    row.pace = decided as f64 / PACE_DAYS as f64;
    row.remaining = match level {
        Level::Site => row.site_counts.awaiting_review,
        // What its sites have not passed yet will come to the district too.
        Level::District => row.district_counts.awaiting_review + row.site_counts.awaiting_review,
    };
    row.days_needed = (row.pace > 0.0).then(|| row.remaining as f64 / row.pace);
    row.on_track = row.remaining == 0 || row.days_needed.is_some_and(|d| d <= days_left as f64);
}

fn empty_row(site: &str, days: &[NaiveDate]) -> SiteStats {
    SiteStats {
        site: site.to_string(),
        site_counts: Counts::default(),
        district_counts: Counts::default(),
        stale: 0,
        per_day: days
            .iter()
            .map(|d| DayCount {
                day: *d,
                decisions: 0,
            })
            .collect(),
        pace: 0.0,
        remaining: 0,
        days_needed: None,
        on_track: true,
    }
}

impl PgStore {
    pub(super) fn follow_up<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        state: ReviewStatus,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<FollowUpList>> {
        // One transaction: what is listed and what it seals are one unit.
        let who = who.clone();
        let window = self.undo_window;
        Box::pin(self.write(move |conn| Box::pin(follow_up_in(conn, who, state, now, window))))
    }

    pub(super) fn stats<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        stale_days: u32,
        window: &'a ReviewWindow,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<StatsResponse>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            let today = local_today(now);
            let days: Vec<NaiveDate> = (0..PACE_DAYS)
                .rev()
                .filter_map(|k| today.checked_sub_signed(Duration::days(k)))
                .collect();
            let mut rows: BTreeMap<String, SiteStats> = BTreeMap::new();

            // The same groups the queues count, per site (a district's
            // scope is every candidate of it here: the site's side too).
            let mut qb = QueryBuilder::<Postgres>::new(
                "SELECT site, site_state, district_state, COUNT(*) FROM candidates \
                 WHERE district = ",
            );
            qb.push_bind(&who.district);
            if let Some(site) = &who.site {
                qb.push(" AND site = ").push_bind(site);
            }
            qb.push(" GROUP BY site, site_state, district_state");
            let groups: Vec<(String, String, String, i64)> =
                qb.build_query_as().fetch_all(&mut *conn).await?;
            for (site, s, d, n) in groups {
                let row = rows
                    .entry(site.clone())
                    .or_insert_with(|| empty_row(&site, &days));
                tally(&mut row.site_counts, &mut row.district_counts, &s, &d, n);
            }

            let state_col = match who.level {
                Level::Site => "site_state",
                Level::District => "district_state",
            };
            let mut qb = QueryBuilder::<Postgres>::new(format!(
                "SELECT site, COUNT(*) FROM candidates WHERE {state_col} = 'awaiting_review' \
                 AND sort_at < "
            ));
            qb.push_bind(ms(now - Duration::days(i64::from(stale_days))))
                .push(" AND district = ")
                .push_bind(&who.district);
            if let Some(site) = &who.site {
                qb.push(" AND site = ").push_bind(site);
            }
            qb.push(" GROUP BY site");
            let stale: Vec<(String, i64)> = qb.build_query_as().fetch_all(&mut *conn).await?;
            for (site, n) in stale {
                rows.entry(site.clone())
                    .or_insert_with(|| empty_row(&site, &days))
                    .stale = n;
            }

            // Decisions at the caller's level that still stand.
            let since = days
                .first()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .and_then(|t| t.and_local_timezone(Local).earliest())
                .map_or(now - Duration::days(PACE_DAYS), |t| t.with_timezone(&Utc));
            let mut qb = QueryBuilder::<Postgres>::new(
                "SELECT c.site, a.at FROM audit a JOIN candidates c ON c.id = a.candidate_id \
                 WHERE a.action = 'candidate.decision' \
                 AND NOT EXISTS (SELECT 1 FROM audit u WHERE u.undoes = a.id) \
                 AND COALESCE(a.after::json ->> 'level', \
                     (SELECT r.level FROM reviewers r WHERE r.username = a.actor)) = ",
            );
            qb.push_bind(who.level.as_str())
                .push(" AND a.at >= ")
                .push_bind(ms(since))
                .push(" AND c.district = ")
                .push_bind(&who.district);
            if let Some(site) = &who.site {
                qb.push(" AND c.site = ").push_bind(site);
            }
            let decided: Vec<(String, i64)> = qb.build_query_as().fetch_all(&mut *conn).await?;
            for (site, at) in decided {
                let day = from_ms(at).with_timezone(&Local).date_naive();
                let row = rows
                    .entry(site.clone())
                    .or_insert_with(|| empty_row(&site, &days));
                if let Some(d) = row.per_day.iter_mut().find(|d| d.day == day) {
                    d.decisions += 1;
                }
            }

            let days_left = window.days_left(today);
            let mut total = empty_row("", &days);
            for row in rows.values_mut() {
                add(&mut total.site_counts, &row.site_counts);
                add(&mut total.district_counts, &row.district_counts);
                total.stale += row.stale;
                for (t, d) in total.per_day.iter_mut().zip(&row.per_day) {
                    t.decisions += d.decisions;
                }
                project(row, who.level, days_left);
            }
            project(&mut total, who.level, days_left);
            Ok(StatsResponse {
                generated_at: now,
                level: who.level,
                stale_days,
                window: super::super::sqlite::window_dto(window, today),
                sites: rows.into_values().collect(),
                total,
            })
        })
    }
}

async fn follow_up_in(
    conn: &mut PgConnection,
    who: ReviewerInfo,
    state: ReviewStatus,
    now: DateTime<Utc>,
    window: Duration,
) -> StoreResult<FollowUpList> {
    let who = &who;
    let mut qb = QueryBuilder::<Postgres>::new(format!("SELECT {CAND_COLS} FROM candidates"));
    scope(&mut qb, who, Some(state));
    // Locked: an undo of one of these cannot commit between the check of
    // its window here and the sealing below.
    qb.push(" ORDER BY sort_at, id FOR NO KEY UPDATE");
    let rows: Vec<CandRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let open = finality::unsettled(&mut *conn, &ids, now, window).await?;
    let settled: Vec<i64> = ids.iter().copied().filter(|i| !open.contains(i)).collect();
    let mut images: HashMap<i64, Vec<FollowUpImage>> = HashMap::new();
    for chunk in settled.chunks(400) {
        let mut qb = QueryBuilder::<Postgres>::new(
            "SELECT candidate_id, category, slot, reasons, note FROM images \
             WHERE phase = 'replace_requested' AND candidate_id IN (",
        );
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        qb.push(") ORDER BY candidate_id, category, slot");
        let found: Vec<(i64, String, i64, String, Option<String>)> =
            qb.build_query_as().fetch_all(&mut *conn).await?;
        for (cid, cat, slot, reasons, note) in found {
            let category = MaterialCategory::from_code(&cat)
                .ok_or_else(|| StoreError::Corrupt(format!("category {cat:?}")))?;
            images.entry(cid).or_default().push(FollowUpImage {
                category,
                slot: u8::try_from(slot).unwrap_or(u8::MAX),
                reasons: json_list(&reasons)?,
                note,
            });
        }
    }
    // These are leaving the system now: their actions are final.
    finality::seal(&mut *conn, &settled, now, window, Why::Exported).await?;
    let mut items = Vec::with_capacity(settled.len());
    for r in rows.iter().filter(|r| !open.contains(&r.id)) {
        let snap = r.snap()?;
        let at_level = match who.level {
            Level::Site => snap.site,
            Level::District => snap.district,
        };
        items.push(FollowUpRow {
            candidate_id: r.id,
            reg_no: r.reg_no.clone(),
            name: r.name.clone(),
            id_number: mask_id_number(&r.id_number),
            phone: r.phone.clone(),
            site: r.site.clone(),
            state,
            reasons: at_level.reasons,
            note: at_level.note,
            reviewer: at_level.reviewer,
            decided_at: at_level.decided_at.map(from_ms),
            images: images.remove(&r.id).unwrap_or_default(),
        });
    }
    tracing::info!(
        reviewer = %who.username,
        state = state.as_str(),
        rows = items.len(),
        withheld = open.len(),
        "follow-up list written"
    );
    Ok(FollowUpList {
        state,
        level: who.level,
        generated_at: now,
        items,
        withheld: open.len() as i64,
    })
}
