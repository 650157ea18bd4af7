//! What a reviewer reads: the queue of their scope (filtered, searched,
//! keyset-paged), the counts of every state in it (cached until the next
//! change), and one candidate's dossier with the images grouped by
//! material and their duplicate references resolved against the scope.

use futures::future::BoxFuture;
use std::collections::HashMap;
use std::sync::atomic::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::sqlite::SqliteConnection;
use sqlx::{QueryBuilder, Sqlite};

use super::rows::{CAND_COLS, CandRow, DupRef, ImgRow, load_cand_scoped, load_images};
use super::{SqliteStore, from_ms, json_list};
use crate::api::dto::{
    CandidateDetail, CandidateList, CandidateSummary, Counts, DuplicateRef, HintsDto, ImageDto,
    MaterialDto,
};
use crate::domain::category::MaterialCategory;
use crate::domain::identity::{mask_id_number, mask_phone};
use crate::domain::image::ImagePhase;
use crate::domain::review::{Level, ReviewStatus};
use crate::server::store::{ListPage, ListQuery, ReviewerInfo, StoreError, StoreResult};

impl SqliteStore {
    /// The counts of every state in the caller's scope, from the covering
    /// index, cached until the next change.
    async fn counts(&self, conn: &mut SqliteConnection, who: &ReviewerInfo) -> StoreResult<Counts> {
        let key = format!("{}\n{}", who.district, who.site.as_deref().unwrap_or(""));
        let generation = self.write_gen.load(Ordering::SeqCst);
        if let Ok(cache) = self.counts_cache.lock()
            && let Some((g, c)) = cache.get(&key)
            && *g == generation
        {
            return Ok(c.clone());
        }
        let rows: Vec<(String, String, i64)> = match &who.site {
            Some(site) => {
                sqlx::query_as(
                    "SELECT site_state, district_state, COUNT(*) FROM candidates \
                     WHERE district = ? AND site = ? GROUP BY site_state, district_state",
                )
                .bind(&who.district)
                .bind(site)
                .fetch_all(&mut *conn)
                .await?
            }
            None => {
                sqlx::query_as(
                    "SELECT district_state, '', COUNT(*) FROM candidates \
                     WHERE district = ? AND district_state <> 'not_started' GROUP BY district_state",
                )
                .bind(&who.district)
                .fetch_all(&mut *conn)
                .await?
            }
        };
        let mut counts = Counts::default();
        for (state, district_state, n) in rows {
            match ReviewStatus::parse(&state) {
                Some(ReviewStatus::AwaitingReview) => {
                    counts.awaiting_review += n;
                    // A site's returned candidates await it again.
                    if who.site.is_some() && district_state == "returned" {
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
        if let Ok(mut cache) = self.counts_cache.lock() {
            cache.insert(key, (generation, counts.clone()));
        }
        Ok(counts)
    }

    /// Resolve stored duplicate references; the other candidate is named
    /// only when the caller may see them.
    pub(super) async fn resolve_dups(
        &self,
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

    pub(super) async fn detail_in(
        &self,
        conn: &mut SqliteConnection,
        who: &ReviewerInfo,
        c: &CandRow,
        now: DateTime<Utc>,
    ) -> StoreResult<CandidateDetail> {
        let images = load_images(conn, c.id).await?;
        let dups = self.resolve_dups(conn, who, &images).await?;
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
        for img in &images {
            let dto = Self::image_dto(img, &dups)?;
            if let Some(m) = materials.iter_mut().find(|m| m.category == dto.category) {
                m.images.push(dto);
            }
        }
        for m in &mut materials {
            m.images.sort_by_key(|i| i.slot);
        }
        let snap = c.snap()?;
        Ok(CandidateDetail {
            id: c.id,
            reg_no: c.reg_no.clone(),
            name: c.name.clone(),
            id_type: c.id_type.clone(),
            id_number: mask_id_number(&c.id_number),
            id_revealed: false,
            gender: c.gender.clone(),
            birth_date: NaiveDate::parse_from_str(&c.birth_date, "%Y-%m-%d")
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            exam_category: c.exam_category.clone(),
            district: c.district.clone(),
            site: c.site.clone(),
            education: c.education.clone(),
            school: c.school.clone(),
            major: c.major.clone(),
            graduation_date: c
                .graduation_date
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
            trial_institution: c.trial_institution.clone(),
            phone: mask_phone(&c.phone),
            submitted_at: c.submitted_at.map(from_ms),
            updated_at: from_ms(c.updated_at),
            version: c.version,
            site_review: snap.site.dto(),
            district_review: snap.district.dto(),
            claim: c.claim_dto(Some(&who.username), now),
            materials,
            feedback: Self::feedback_of(conn, c.id).await?,
        })
    }

    pub(super) fn list_candidates<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        query: ListQuery,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<ListPage>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            let state_col = match who.level {
                Level::Site => "site_state",
                Level::District => "district_state",
            };
            let scope = |qb: &mut QueryBuilder<Sqlite>| {
                qb.push(" WHERE district = ")
                    .push_bind(who.district.clone());
                match &who.site {
                    Some(site) => {
                        qb.push(" AND site = ").push_bind(site.clone());
                    }
                    // The district sees what the site has passed or returned.
                    None => {
                        qb.push(" AND district_state <> 'not_started'");
                    }
                }
            };

            let mut qb = QueryBuilder::<Sqlite>::new(format!("SELECT {CAND_COLS} FROM candidates"));
            scope(&mut qb);
            if let Some(state) = query.state {
                match (who.level, state) {
                    (Level::Site, ReviewStatus::Returned) => {
                        qb.push(
                            " AND site_state = 'awaiting_review' AND district_state = 'returned'",
                        );
                    }
                    _ => {
                        qb.push(format!(" AND {state_col} = "))
                            .push_bind(state.as_str());
                    }
                }
            }
            if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
                super::search::push_search(&mut qb, q);
            }
            // Descending: from the end of the queue backwards (`G`).
            let (cmp, dir) = if query.descending {
                ("<", " DESC")
            } else {
                (">", "")
            };
            if let Some((at, id)) = query.after {
                qb.push(format!(" AND (sort_at, id) {cmp} ("))
                    .push_bind(at)
                    .push(", ")
                    .push_bind(id)
                    .push(")");
            }
            qb.push(format!(" ORDER BY sort_at{dir}, id{dir} LIMIT "))
                .push_bind(i64::from(query.limit) + 1);
            let mut rows: Vec<CandRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            let next = if rows.len() > query.limit as usize {
                rows.truncate(query.limit as usize);
                rows.last().map(|r| (r.sort_at, r.id))
            } else {
                None
            };

            let mut stats: HashMap<i64, (i64, i64)> = HashMap::new();
            if !rows.is_empty() {
                let mut qb = QueryBuilder::<Sqlite>::new(
                    "SELECT candidate_id, COUNT(*), SUM(flagged) FROM images WHERE candidate_id IN (",
                );
                let mut sep = qb.separated(", ");
                for r in &rows {
                    sep.push_bind(r.id);
                }
                qb.push(") GROUP BY candidate_id");
                let s: Vec<(i64, i64, i64)> = qb.build_query_as().fetch_all(&mut *conn).await?;
                stats = s.into_iter().map(|(c, n, f)| (c, (n, f))).collect();
            }

            let mut items = Vec::with_capacity(rows.len());
            for r in &rows {
                let reviews = r.reviews()?;
                let (images, flagged) = stats.get(&r.id).copied().unwrap_or((0, 0));
                items.push(CandidateSummary {
                    id: r.id,
                    reg_no: r.reg_no.clone(),
                    name: r.name.clone(),
                    exam_category: r.exam_category.clone(),
                    site: r.site.clone(),
                    state: reviews.at(who.level),
                    site_review: reviews.site,
                    district_review: reviews.district,
                    submitted_at: r.submitted_at.map(from_ms),
                    updated_at: from_ms(r.updated_at),
                    version: r.version,
                    claim: r.claim_dto(Some(&who.username), now),
                    images,
                    flagged,
                });
            }

            let counts = self.counts(&mut conn, who).await?;
            Ok(ListPage {
                list: CandidateList {
                    items,
                    next_cursor: None,
                    counts,
                },
                next,
            })
        })
    }

    pub(super) fn candidate_detail<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<CandidateDetail>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            let c = load_cand_scoped(&mut conn, id, who).await?;
            self.detail_in(&mut conn, who, &c, now).await
        })
    }
}
