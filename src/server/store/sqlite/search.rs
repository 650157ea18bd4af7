//! The queue's search: any part of the reg_no, the last digits of the ID
//! number, any part of the name, or its pinyin initials (`xyj` finds
//! 谢艳佳). A correct, plain `LIKE` over the scope; an index can make it
//! fast later without changing what it finds. The initials live in
//! `candidates.name_initials`, filled here for rows that lack them.

use sqlx::SqlitePool;

use super::direct::Sql;

use crate::domain::name_key::{initials, looks_like_initials};
use crate::server::store::StoreResult;

fn like_escape(q: &str) -> String {
    q.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// ` AND (…)` for the search `q` (trimmed, non-empty).
pub(super) fn push_search(sql: &mut Sql, q: &str) {
    let esc = like_escape(q);
    sql.push(" AND (name LIKE ")
        .bind_text(format!("%{esc}%"))
        .push(" ESCAPE '\\' OR reg_no LIKE ")
        .bind_text(format!("%{esc}%"))
        .push(" ESCAPE '\\' OR id_number LIKE ")
        .bind_text(format!("%{esc}"))
        .push(" ESCAPE '\\'");
    if looks_like_initials(q) {
        sql.push(" OR name_initials LIKE ")
            .bind_text(format!("%{}%", esc.to_ascii_lowercase()))
            .push(" ESCAPE '\\'");
    }
    sql.push(")");
}

/// Fill `name_initials` where it is missing (rows from before the column,
/// the seed writes its own). Returns how many were filled.
pub async fn backfill_initials(pool: &SqlitePool) -> StoreResult<usize> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM candidates WHERE name_initials IS NULL")
            .fetch_all(pool)
            .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    for (id, name) in &rows {
        sqlx::query("UPDATE candidates SET name_initials = ? WHERE id = ?")
            .bind(initials(name))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(rows.len())
}
