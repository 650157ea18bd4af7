//! What a reviewer reads: the queue of their scope (filtered, searched,
//! keyset-paged), the counts of every state in it, and one candidate's
//! dossier with the images grouped by material and their duplicate
//! references resolved against the scope.
//!
//! The queue page is two statements in one read transaction (the rows,
//! and the counts from `queue_counts`, kept by triggers, see migration
//! 0003), read on the request's own thread (see `direct.rs`). The dossier
//! is one statement through sqlx, SQLite assembling the images and the
//! feedback into JSON arrays: sqlx hands every row over a channel from the
//! connection's own thread, and one row costs one hand-off.

use crate::server::store::row::row_struct;
use futures::future::BoxFuture;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::sqlite::SqliteConnection;
use sqlx::{QueryBuilder, Sqlite};

use super::direct::Sql;

use super::rows::{CAND_COLS, CandRow, DupRef, IMG_COLS, ImgRow, load_images};
use super::{SqliteStore, from_ms, json_list};
use crate::api::dto::{
    CandidateDetail, DuplicateRef, FeedbackDto, HintsDto, ImageDto, MaterialDto,
};
use crate::domain::audit::FeedbackChannel;
use crate::domain::category::MaterialCategory;
use crate::domain::identity::{mask_id_number, mask_phone};
use crate::domain::image::ImagePhase;
use crate::server::store::queue_page::{QUEUE_COLS, QueueRow, page_of};
use crate::server::store::{ListPage, ListQuery, ReviewerInfo, StoreError, StoreResult};

row_struct! {
    ::sqlx::Sqlite;
    /// A dossier: the candidate's row with its images and feedback as JSON.
    struct DossierRow {
        flatten c: CandRow,
        images: String,
        feedback: String,
    }
}

/// The scope's filter (`WHERE` included), on `candidates` or `queue_counts`.
fn push_scope(sql: &mut Sql, who: &ReviewerInfo) {
    sql.push(" WHERE district = ")
        .bind_text(who.district.as_str());
    match &who.site {
        Some(site) => {
            sql.push(" AND site = ").bind_text(site.as_str());
        }
        // The district sees what the site has passed or returned.
        None => {
            sql.push(" AND district_state <> 'not_started'");
        }
    }
}

/// The page (limit + 1 rows, in the queue's order) and the scope's counts.
/// Each tab's filter matches an index in (sort_at, id) order (migrations
/// 0001 and 0003), so a page reads limit + 1 rows.
fn page_sql(who: &ReviewerInfo, query: &ListQuery) -> (Sql, Sql) {
    let mut items = Sql::new(&format!("SELECT {QUEUE_COLS} FROM candidates"));
    push_scope(&mut items, who);
    if let Some(tab) = query.tab_condition(who.level) {
        items.push(&tab);
    }
    if let Some(q) = query.search() {
        super::search::push_search(&mut items, q);
    }
    if let Some((at, id)) = query.after {
        let (cmp, _) = query.direction();
        items
            .push(&format!(" AND (sort_at, id) {cmp} ("))
            .bind_int(at)
            .push(", ")
            .bind_int(id)
            .push(")");
    }
    items.push(&query.order_and_limit());
    let mut counts = Sql::new(match who.site {
        Some(_) => "SELECT site_state, district_state, n FROM queue_counts",
        None => "SELECT district_state, '', n FROM queue_counts",
    });
    push_scope(&mut counts, who);
    (items, counts)
}

/// A row of [`QUEUE_COLS`].
fn queue_row(r: &rusqlite::Row<'_>) -> StoreResult<QueueRow> {
    Ok(QueueRow {
        id: r.get(0)?,
        reg_no: r.get(1)?,
        name: r.get(2)?,
        exam_category: r.get(3)?,
        site: r.get(4)?,
        site_state: r.get(5)?,
        district_state: r.get(6)?,
        submitted_at: r.get(7)?,
        updated_at: r.get(8)?,
        version: r.get(9)?,
        claim_reviewer: r.get(10)?,
        claim_expires_at: r.get(11)?,
        image_count: r.get(12)?,
        flagged_count: r.get(13)?,
        sort_at: r.get(14)?,
    })
}

impl SqliteStore {
    /// Resolve stored duplicate references; the other candidate is named
    /// only when the caller may see them.
    pub(super) async fn resolve_dups(
        conn: &mut SqliteConnection,
        who: &ReviewerInfo,
        images: &[ImgRow],
    ) -> StoreResult<HashMap<i64, (i64, String, bool)>> {
        let mut ids = Vec::new();
        for img in images {
            let (a, b) = img.dups()?;
            ids.extend(a.iter().chain(b.iter()).map(|d| d.image_id));
        }
        let mut out = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT i.id, c.id, c.reg_no, c.district, c.site FROM images i \
             JOIN candidates c ON c.id = i.candidate_id WHERE i.id IN (",
        );
        let mut sep = qb.separated(", ");
        for id in &ids {
            sep.push_bind(*id);
        }
        qb.push(")");
        let rows: Vec<(i64, i64, String, String, String)> =
            qb.build_query_as().fetch_all(&mut *conn).await?;
        for (img, cand, reg_no, district, site) in rows {
            out.insert(img, (cand, reg_no, who.sees(&district, &site)));
        }
        Ok(out)
    }

    pub(super) fn image_dto(
        img: &ImgRow,
        dups: &HashMap<i64, (i64, String, bool)>,
    ) -> StoreResult<ImageDto> {
        let phase = img.phase()?;
        let (exact, near) = img.dups()?;
        let refs = |v: Vec<DupRef>| -> Vec<DuplicateRef> {
            v.into_iter()
                .map(|d| {
                    let seen = dups.get(&d.image_id).filter(|(_, _, vis)| *vis);
                    DuplicateRef {
                        image_id: d.image_id,
                        candidate_id: seen.map(|(c, _, _)| *c),
                        reg_no: seen.map(|(_, r, _)| r.clone()),
                        distance: d.distance,
                    }
                })
                .collect()
        };
        let (replaced, reasons) = match phase {
            ImagePhase::ReplaceRequested { replaced, .. } => (replaced, json_list(&img.reasons)?),
            _ => (false, Vec::new()),
        };
        Ok(ImageDto {
            id: img.id,
            candidate_id: img.candidate_id,
            category: img.category()?,
            slot: img.slot(),
            slot_label: img.slot_label(),
            generation: img.generation,
            format: img.format.clone(),
            bytes: img.bytes,
            width: u32::try_from(img.width).unwrap_or(0),
            height: u32::try_from(img.height).unwrap_or(0),
            sha256: img.sha256.clone(),
            uploaded_at: from_ms(img.uploaded_at),
            version: img.version,
            lock: phase.lock(),
            verdict: phase.verdict(),
            reasons,
            note: if replaced || matches!(phase, ImagePhase::ReplaceRequested { .. }) {
                img.note.clone()
            } else {
                None
            },
            replaced,
            hints: HintsDto {
                over_size: img.bytes > crate::domain::rules::MAX_UPLOAD_BYTES as i64,
                wrong_format: false,
                too_small: img.too_small,
                orientation: u8::try_from(img.orientation).unwrap_or(1),
                not_upright: img.not_upright,
                blur_score: img.blur_score as f32,
                blurry: img.blurry,
                duplicate_of: refs(exact),
                near_duplicate_of: refs(near),
            },
        })
    }

    /// The dossier from its parts; `who` decides what duplicates may name.
    fn detail_from(
        who: &ReviewerInfo,
        c: CandRow,
        images: &[ImgRow],
        dups: &HashMap<i64, (i64, String, bool)>,
        feedback: Vec<FeedbackDto>,
        now: DateTime<Utc>,
    ) -> StoreResult<CandidateDetail> {
        let mut materials: Vec<MaterialDto> = MaterialCategory::ALL
            .iter()
            .map(|cat| MaterialDto {
                category: *cat,
                name_zh: cat.name_zh().into(),
                name_en: cat.name_en().into(),
                fixed_count: cat.fixed_count(),
                images: Vec::new(),
            })
            .collect();
        for img in images {
            let dto = Self::image_dto(img, dups)?;
            if let Some(m) = materials.iter_mut().find(|m| m.category == dto.category) {
                m.images.push(dto);
            }
        }
        for m in &mut materials {
            m.images.sort_by_key(|i| i.slot);
        }
        let snap = c.snap()?;
        let claim = c.claim_dto(Some(&who.username), now);
        Ok(CandidateDetail {
            birth_date: NaiveDate::parse_from_str(&c.birth_date, "%Y-%m-%d")
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            graduation_date: c
                .graduation_date
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
            id_number: mask_id_number(&c.id_number),
            phone: mask_phone(&c.phone),
            id: c.id,
            reg_no: c.reg_no,
            name: c.name,
            id_type: c.id_type,
            id_revealed: false,
            gender: c.gender,
            exam_category: c.exam_category,
            district: c.district,
            site: c.site,
            education: c.education,
            school: c.school,
            major: c.major,
            trial_institution: c.trial_institution,
            submitted_at: c.submitted_at.map(from_ms),
            updated_at: from_ms(c.updated_at),
            version: c.version,
            site_review: snap.site.dto(),
            district_review: snap.district.dto(),
            claim,
            materials,
            feedback,
        })
    }

    /// The dossier of a row already loaded in a unit of work (undo answers
    /// with it).
    pub(super) async fn detail_in(
        conn: &mut SqliteConnection,
        who: &ReviewerInfo,
        c: &CandRow,
        now: DateTime<Utc>,
    ) -> StoreResult<CandidateDetail> {
        let images = load_images(conn, c.id).await?;
        let dups = Self::resolve_dups(conn, who, &images).await?;
        let feedback = Self::feedback_of(conn, c.id).await?;
        Self::detail_from(who, c.clone(), &images, &dups, feedback, now)
    }

    pub(super) fn list_candidates<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        query: ListQuery,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<ListPage>> {
        Box::pin(async move {
            let (items, counts) = page_sql(who, &query);
            // A search may scan the whole scope: not on the runtime's threads.
            let short = query.search().is_none();
            let (rows, counts) = self
                .direct
                .run(short, move |conn| {
                    // One snapshot for the page and its counts.
                    let tx = conn.unchecked_transaction()?;
                    let rows = items.rows(&tx, queue_row)?;
                    let counts = counts.rows(&tx, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                    Ok((rows, counts))
                })
                .await?;
            page_of(who, &query, rows, counts, now)
        })
    }

    pub(super) fn candidate_detail<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<CandidateDetail>> {
        Box::pin(async move {
            let mut conn = self.reads.get().await?;
            let row: Option<DossierRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {CAND_COLS}, \
                 (SELECT json_group_array(json_array({IMG_COLS}) ORDER BY category, slot) \
                  FROM images WHERE candidate_id = candidates.id) AS images, \
                 (SELECT json_group_array(json_array(id, channel, body, author, created_at) \
                  ORDER BY id DESC) FROM feedback WHERE candidate_id = candidates.id \
                  AND withdrawn_by IS NULL) AS feedback \
                 FROM candidates WHERE id = ?"
            )))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            let row = row
                .filter(|r| r.c.in_scope(who))
                .ok_or(StoreError::NotFound)?;
            let images: Vec<ImgRow> = serde_json::from_str(&row.images)?;
            let feedback: Vec<(i64, String, String, String, i64)> =
                serde_json::from_str(&row.feedback)?;
            let feedback = feedback
                .into_iter()
                .map(|(id, ch, body, author, at)| {
                    Ok(FeedbackDto {
                        id,
                        channel: FeedbackChannel::parse(&ch)
                            .ok_or_else(|| StoreError::Corrupt(format!("channel {ch:?}")))?,
                        body,
                        author,
                        created_at: from_ms(at),
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let dups = Self::resolve_dups(&mut conn, who, &images).await?;
            Self::detail_from(who, row.c, &images, &dups, feedback, now)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::review::{Level, ReviewStatus};
    use rusqlite::StatementStatus;

    fn reviewer(level: Level, site: Option<&str>) -> ReviewerInfo {
        ReviewerInfo {
            id: 1,
            username: "r".into(),
            display_name: "r".into(),
            level,
            district: "南京".into(),
            site: site.map(Into::into),
        }
    }

    /// Every tab's statements, run again with new values bound (another
    /// page, another reviewer of the same level), are not prepared again:
    /// SQLite re-prepares when a bound value decided the plan, which once
    /// doubled the page's cost.
    #[tokio::test]
    async fn page_statements_are_prepared_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("q.db");
        let store = SqliteStore::open(&path).await.expect("open");
        store.close().await;
        let conn = rusqlite::Connection::open(&path).expect("conn");
        for (level, site) in [(Level::Site, Some("A")), (Level::District, None)] {
            for state in std::iter::once(None).chain(ReviewStatus::ALL.map(Some)) {
                for descending in [false, true] {
                    let page = |who: &ReviewerInfo, after| {
                        let q = ListQuery {
                            state,
                            q: None,
                            after,
                            limit: 50,
                            descending,
                        };
                        page_sql(who, &q)
                    };
                    let first = reviewer(level, site);
                    let second = ReviewerInfo {
                        district: "苏州".into(),
                        site: site.map(|_| "B".into()),
                        ..reviewer(level, site)
                    };
                    for after in [None, Some((5, 7))] {
                        for sql in [page(&first, after).0, page(&first, after).1] {
                            sql.rows(&conn, |_| Ok(())).expect("runs");
                        }
                        let (items, counts) = page(&second, after.map(|(a, b)| (a + 1, b + 1)));
                        for sql in [items, counts] {
                            sql.rows(&conn, |_| Ok(())).expect("runs");
                            let stmt = conn.prepare_cached(&sql.text).expect("cached");
                            assert_eq!(
                                stmt.get_status(StatementStatus::RePrepare),
                                0,
                                "{}",
                                sql.text
                            );
                        }
                    }
                }
            }
        }
    }
}
