//! What a reviewer reads: the queue of their scope (filtered, searched,
//! keyset-paged), the counts of every state in it, and one candidate's
//! dossier with the images grouped by material and their duplicate
//! references resolved against the scope.
//!
//! On PostgreSQL rows stream over the connection, so the page is a plain
//! `SELECT` on the index of its tab (the same indexes as SQLite's, in
//! migrations/postgres) and the counts a second read of `queue_counts`.

use futures::future::BoxFuture;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgConnection;
use sqlx::{Postgres, QueryBuilder};

use super::rows::{CandRow, DupRef, ImgRow, load_cand_scoped, load_images};
use super::{PgStore, from_ms, json_list};
use crate::api::dto::{
    CandidateDetail, DuplicateRef, FeedbackDto, HintsDto, ImageDto, MaterialDto,
};
use crate::domain::category::MaterialCategory;
use crate::domain::identity::{mask_id_number, mask_phone};
use crate::domain::image::ImagePhase;
use crate::server::store::queue_page::{QUEUE_COLS, QueueRow, page_of};
use crate::server::store::{ListPage, ListQuery, ReviewerInfo, StoreError, StoreResult};

/// The scope's filter (`WHERE` included), on `candidates` or `queue_counts`.
fn push_scope(qb: &mut QueryBuilder<Postgres>, who: &ReviewerInfo) {
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
}

impl PgStore {
    /// Resolve stored duplicate references; the other candidate is named
    /// only when the caller may see them.
    pub(super) async fn resolve_dups(
        conn: &mut PgConnection,
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
        let mut qb = QueryBuilder::<Postgres>::new(
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
        conn: &mut PgConnection,
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
            // Each tab's filter matches an index in (sort_at, id) order
            // (migrations/postgres), so a page reads limit + 1 rows.
            let mut qb =
                QueryBuilder::<Postgres>::new(format!("SELECT {QUEUE_COLS} FROM candidates"));
            push_scope(&mut qb, who);
            if let Some(tab) = query.tab_condition(who.level) {
                qb.push(tab);
            }
            if let Some(q) = query.search() {
                super::search::push_search(&mut qb, q);
            }
            if let Some((at, id)) = query.after {
                let (cmp, _) = query.direction();
                qb.push(format!(" AND (sort_at, id) {cmp} ("))
                    .push_bind(at)
                    .push(", ")
                    .push_bind(id)
                    .push(")");
            }
            qb.push(query.order_and_limit());
            let mut conn = self.pool.acquire().await?;
            let rows: Vec<QueueRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            let mut cq = QueryBuilder::<Postgres>::new(match &who.site {
                Some(_) => "SELECT site_state, district_state, n FROM queue_counts",
                None => "SELECT district_state, '' AS other, n FROM queue_counts",
            });
            push_scope(&mut cq, who);
            let counts: Vec<(String, String, i64)> =
                cq.build_query_as().fetch_all(&mut *conn).await?;
            drop(conn);
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
            let mut conn = self.pool.acquire().await?;
            let c = load_cand_scoped(&mut conn, id, who).await?;
            let images = load_images(&mut conn, c.id).await?;
            let feedback = Self::feedback_of(&mut conn, c.id).await?;
            let dups = Self::resolve_dups(&mut conn, who, &images).await?;
            Self::detail_from(who, c, &images, &dups, feedback, now)
        })
    }
}
