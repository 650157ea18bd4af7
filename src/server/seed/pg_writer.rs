//! The seed's writer for PostgreSQL: the same rows as `writer.rs`, sent
//! with `COPY … FROM STDIN` (text format), one COPY per table per batch,
//! all in one transaction. As in SQLite, the secondary indexes are dropped
//! first and built once at the end; the badge and count triggers are off
//! while loading (the badges go in with each candidate row, the counts are
//! summed once at the end), and, where the role may (a superuser), so are
//! the foreign-key checks (`session_replication_role = replica`): the seed's
//! rows are consistent by construction, and a check per row would be most
//! of the load's time.

use std::collections::HashMap;

use sqlx::postgres::PgConnection;

use super::documents::Asset;
use super::writer::{Account, Batch};
use super::{DISTRICT, SeedError, to_json};
use crate::server::store::PgStore;
use crate::server::store::postgres::{images::put_blob, pg};
use crate::server::store::sqlite::phase_cols;

/// The tables the seed fills (whose secondary indexes it rebuilds).
const TABLES: &str = "('candidates', 'images', 'feedback', 'audit')";

/// One COPY's text-format rows.
#[derive(Default)]
struct Copy {
    buf: Vec<u8>,
    fresh_row: bool,
}

impl Copy {
    fn sep(&mut self) {
        if self.fresh_row {
            self.fresh_row = false;
        } else {
            self.buf.push(b'\t');
        }
    }

    fn text(&mut self, v: &str) -> &mut Copy {
        self.sep();
        for b in v.bytes() {
            match b {
                b'\\' => self.buf.extend_from_slice(b"\\\\"),
                b'\t' => self.buf.extend_from_slice(b"\\t"),
                b'\n' => self.buf.extend_from_slice(b"\\n"),
                b'\r' => self.buf.extend_from_slice(b"\\r"),
                _ => self.buf.push(b),
            }
        }
        self
    }

    fn opt(&mut self, v: Option<&str>) -> &mut Copy {
        match v {
            Some(v) => self.text(v),
            None => {
                self.sep();
                self.buf.extend_from_slice(b"\\N");
                self
            }
        }
    }

    fn int(&mut self, v: i64) -> &mut Copy {
        self.text(&v.to_string())
    }

    fn opt_int(&mut self, v: Option<i64>) -> &mut Copy {
        self.opt(v.map(|v| v.to_string()).as_deref())
    }

    fn boolean(&mut self, v: bool) -> &mut Copy {
        self.text(if v { "t" } else { "f" })
    }

    fn float(&mut self, v: f64) -> &mut Copy {
        self.text(&v.to_string())
    }

    fn row(&mut self) {
        self.fresh_row = true;
    }

    fn end_row(&mut self) {
        self.buf.push(b'\n');
        self.fresh_row = true;
    }

    async fn send(self, conn: &mut PgConnection, statement: &str) -> Result<(), SeedError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut copy = conn.copy_in_raw(statement).await?;
        copy.send(self.buf).await?;
        copy.finish().await?;
        Ok(())
    }
}

pub(super) async fn load(
    store: &PgStore,
    accounts: &[Account],
    assets: &[Asset],
    password_hash: &str,
    mut batches: tokio::sync::mpsc::Receiver<Batch>,
) -> Result<(), SeedError> {
    let mut tx = store.pool().begin().await?;
    // Foreign-key checks off where allowed (see the module's comment).
    sqlx::query("SAVEPOINT replica").execute(&mut *tx).await?;
    if sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .is_err()
    {
        sqlx::query("ROLLBACK TO SAVEPOINT replica")
            .execute(&mut *tx)
            .await?;
    }
    for t in ["candidates", "images"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE {t} DISABLE TRIGGER USER"
        )))
        .execute(&mut *tx)
        .await?;
    }
    for a in accounts {
        sqlx::query(sqlx::AssertSqlSafe(pg(
            "INSERT INTO reviewers (username, display_name, level, district, site, password_hash) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )))
        .bind(a.username)
        .bind(a.display)
        .bind(a.level)
        .bind(DISTRICT)
        .bind(a.site)
        .bind(&a.password_hash)
        .execute(&mut *tx)
        .await?;
    }
    for a in assets {
        put_blob(&mut tx, &a.sha256, a.report.format.as_str()).await?;
    }
    let deferred: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT indexname::text, indexdef FROM pg_indexes \
         WHERE schemaname = current_schema() AND tablename IN {TABLES} \
         AND indexdef NOT LIKE 'CREATE UNIQUE%'"
    )))
    .fetch_all(&mut *tx)
    .await?;
    for (name, _) in &deferred {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX \"{name}\"")))
            .execute(&mut *tx)
            .await?;
    }
    while let Some(b) = batches.recv().await {
        write_batch(&mut tx, &b, password_hash, assets).await?;
    }
    for (_, sql) in deferred {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
    }
    // What the triggers would have kept: the counts, and the identities
    // past the ids the seed chose.
    sqlx::query(
        "INSERT INTO queue_counts (district, site, site_state, district_state, n) \
         SELECT district, site, site_state, district_state, COUNT(*) FROM candidates \
         GROUP BY district, site, site_state, district_state \
         ON CONFLICT (district, site, site_state, district_state) \
         DO UPDATE SET n = queue_counts.n + excluded.n",
    )
    .execute(&mut *tx)
    .await?;
    for t in ["candidates", "images"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence('{t}', 'id'), \
             GREATEST((SELECT MAX(id) FROM {t}), 1))"
        )))
        .execute(&mut *tx)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE {t} ENABLE TRIGGER USER"
        )))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    // Fresh statistics, or the planner guesses on empty tables.
    sqlx::query("ANALYZE").execute(store.pool()).await?;
    Ok(())
}

async fn write_batch(
    tx: &mut PgConnection,
    b: &Batch,
    password_hash: &str,
    assets: &[Asset],
) -> Result<(), SeedError> {
    // The badges, which the triggers would have counted.
    let mut badges: HashMap<i64, (i64, i64)> = HashMap::new();
    let mut images = Copy::default();
    for im in &b.images {
        let a = &assets[im.asset];
        let r = &a.report;
        let (phase, was_accepted, replaced) = phase_cols(im.phase);
        let flagged = r.blurry || r.too_small || r.not_upright || !im.near_dup_of.is_empty();
        let e = badges.entry(im.candidate_id).or_default();
        e.0 += 1;
        e.1 += i64::from(flagged);
        images.row();
        images
            .int(im.id)
            .int(im.candidate_id)
            .text(im.category)
            .int(im.slot)
            .int(1)
            .text(r.format.as_str())
            .int(a.a.bytes.len() as i64)
            .int(i64::from(r.width))
            .int(i64::from(r.height))
            .text(&a.sha256)
            .int(im.uploaded_at)
            .int(im.version)
            .text(phase)
            .boolean(was_accepted)
            .boolean(replaced)
            .text(&to_json(&im.reasons))
            .opt(im.note.as_deref())
            .int(i64::from(r.orientation.0))
            .boolean(r.not_upright)
            .float(f64::from(r.blur_score))
            .boolean(r.blurry)
            .boolean(r.too_small)
            .int(r.phash as i64)
            .text("[]")
            .text(&to_json(&im.near_dup_of))
            .boolean(flagged)
            .end_row();
    }
    let mut cands = Copy::default();
    for c in &b.candidates {
        let r = &c.reviews;
        let (n, flagged) = badges.get(&c.id).copied().unwrap_or_default();
        cands.row();
        cands
            .int(c.id)
            .text(&c.reg_no)
            .text(&c.name)
            .text("居民身份证")
            .text(&c.id_number)
            .text(c.gender)
            .text(&c.birth_date)
            .text(&c.exam_category)
            .text(DISTRICT)
            .text(c.site)
            .text(&c.education)
            .text(&c.school)
            .text(&c.major)
            .opt(c.graduation_date.as_deref())
            .opt(c.trial_institution.as_deref())
            .text(&c.phone)
            .text(password_hash)
            .int(c.created_at)
            .opt_int(c.submitted_at)
            .int(c.sort_at)
            .int(c.updated_at)
            .int(c.version)
            .text(r.site.state.as_str())
            .text(&to_json(&r.site.reasons))
            .opt(r.site.note.as_deref())
            .opt(r.site.reviewer.as_deref())
            .opt_int(r.site.decided_at)
            .text(r.district.state.as_str())
            .text(&to_json(&r.district.reasons))
            .opt(r.district.note.as_deref())
            .opt(r.district.reviewer.as_deref())
            .opt_int(r.district.decided_at)
            .text(&crate::domain::name_key::initials(&c.name))
            .int(n)
            .int(flagged)
            .end_row();
    }
    cands
        .send(
            tx,
            "COPY candidates (id, reg_no, name, id_type, id_number, gender, birth_date, \
             exam_category, district, site, education, school, major, graduation_date, \
             trial_institution, phone, password_hash, created_at, submitted_at, sort_at, \
             updated_at, version, site_state, site_reasons, site_note, site_reviewer, \
             site_decided_at, district_state, district_reasons, district_note, \
             district_reviewer, district_decided_at, name_initials, image_count, \
             flagged_count) FROM STDIN",
        )
        .await?;
    images
        .send(
            tx,
            "COPY images (id, candidate_id, category, slot, generation, format, bytes, width, \
             height, sha256, uploaded_at, version, phase, was_accepted, replaced, reasons, note, \
             orientation, not_upright, blur_score, blurry, too_small, phash, duplicate_of, \
             near_dup_of, flagged) FROM STDIN",
        )
        .await?;
    let mut feedback = Copy::default();
    for (cid, ch, body, author, at) in &b.feedback {
        feedback.row();
        feedback
            .int(*cid)
            .text(ch)
            .text(body)
            .text(author)
            .int(*at)
            .end_row();
    }
    feedback
        .send(
            tx,
            "COPY feedback (candidate_id, channel, body, author, created_at) FROM STDIN",
        )
        .await?;
    let mut audit = Copy::default();
    for a in &b.audit {
        audit.row();
        audit
            .int(a.at)
            .text(&a.actor)
            .text(a.action.as_str())
            .text(&a.target)
            .int(a.candidate_id)
            .text(&a.before)
            .text(&a.after)
            .text(&to_json(&a.reasons))
            .end_row();
    }
    audit
        .send(
            tx,
            "COPY audit (at, actor, action, target, candidate_id, before, after, reasons) \
             FROM STDIN",
        )
        .await?;
    Ok(())
}
