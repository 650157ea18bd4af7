//! The queue's search: any part of the reg_no, the last digits of the ID
//! number, any part of the name, or its pinyin initials (`xyj` finds
//! 谢艳佳). A plain `ILIKE` over the scope: case-insensitive, as SQLite's
//! `LIKE` is for ASCII (an ID number's final X, typed x, still matches);
//! a trigram index can make it fast later without changing what it finds. The initials live in
//! `candidates.name_initials`, filled here for rows that lack them.

use sqlx::{PgPool, Postgres, QueryBuilder};

use super::script::q;

use crate::domain::name_key::{initials, looks_like_initials};
use crate::server::store::StoreResult;

fn like_escape(q: &str) -> String {
    q.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// ` AND (…)` for the search `q` (trimmed, non-empty).
pub(super) fn push_search(qb: &mut QueryBuilder<Postgres>, q: &str) {
    let esc = like_escape(q);
    qb.push(" AND (name ILIKE ")
        .push_bind(format!("%{esc}%"))
        .push(" ESCAPE '\\' OR reg_no ILIKE ")
        .push_bind(format!("%{esc}%"))
        .push(" ESCAPE '\\' OR id_number ILIKE ")
        .push_bind(format!("%{esc}"))
        .push(" ESCAPE '\\'");
    if looks_like_initials(q) {
        qb.push(" OR name_initials ILIKE ")
            .push_bind(format!("%{}%", esc.to_ascii_lowercase()))
            .push(" ESCAPE '\\'");
    }
    qb.push(")");
}

/// Fill `name_initials` where it is missing (rows from before the column,
/// the seed writes its own). Returns how many were filled.
pub async fn backfill_initials(pool: &PgPool) -> StoreResult<usize> {
    let rows: Vec<(i64, String)> = sqlx::query_as(q(
        "SELECT id, name FROM candidates WHERE name_initials IS NULL",
    ))
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    for (id, name) in &rows {
        sqlx::query(q("UPDATE candidates SET name_initials = ? WHERE id = ?"))
            .bind(initials(name))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(rows.len())
}
