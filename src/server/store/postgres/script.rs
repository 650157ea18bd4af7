//! The statements of one unit of work, written as in the SQLite store with
//! `?` placeholders ([`pg`] numbers them `$1, $2, …`), so the two stores'
//! SQL reads the same. A [`Script`] is several statements run in order in
//! the caller's transaction; the rows of their `RETURNING` clauses come
//! back in order ([`Rows`]). PostgreSQL pipelines nothing here: a script
//! is one round trip per statement, inside one transaction.

use sqlx::postgres::{PgArguments, PgConnection, PgRow};
use sqlx::{Arguments, Encode, FromRow, Postgres, Row, Type};

use crate::server::store::{StoreError, StoreResult};

/// `?` placeholders as PostgreSQL's `$n` (outside quoted literals).
pub fn pg(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let (mut n, mut quoted) = (0, false);
    for ch in sql.chars() {
        match ch {
            '\'' => {
                quoted = !quoted;
                out.push(ch);
            }
            '?' if !quoted => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(ch),
        }
    }
    out
}

/// A statement with `?` placeholders, numbered for PostgreSQL.
pub(super) fn q(sql: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(pg(sql))
}

#[derive(Default)]
pub(super) struct Script {
    statements: Vec<(String, PgArguments)>,
    /// The first value that could not be encoded (reported at `run`).
    bad: Option<String>,
}

impl Script {
    /// Append one statement.
    pub(super) fn sql(&mut self, statement: &str) -> &mut Script {
        self.statements
            .push((pg(statement), PgArguments::default()));
        self
    }

    /// Bind the next `?` of the last statement.
    pub(super) fn bind<'q, T: Encode<'q, Postgres> + Type<Postgres>>(
        &mut self,
        value: T,
    ) -> &mut Script {
        match self.statements.last_mut() {
            Some((_, args)) => {
                if let Err(e) = args.add(value) {
                    self.bad.get_or_insert(e.to_string());
                }
            }
            None => {
                self.bad
                    .get_or_insert("a value bound before any statement".into());
            }
        }
        self
    }

    pub(super) async fn run(self, conn: &mut PgConnection) -> StoreResult<Rows> {
        if let Some(e) = self.bad {
            return Err(StoreError::Corrupt(format!("cannot bind a value: {e}")));
        }
        let mut out = Vec::new();
        for (sql, args) in self.statements {
            out.extend(
                sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
                    .fetch_all(&mut *conn)
                    .await?,
            );
        }
        Ok(Rows(out.into_iter()))
    }
}

/// The rows a script returned, in the order of its `RETURNING` statements.
pub(super) struct Rows(std::vec::IntoIter<PgRow>);

impl Rows {
    fn next_row(&mut self) -> StoreResult<PgRow> {
        self.0
            .next()
            .ok_or_else(|| StoreError::Corrupt("a statement returned no row".into()))
    }

    pub(super) fn next<T: for<'r> FromRow<'r, PgRow>>(&mut self) -> StoreResult<T> {
        Ok(T::from_row(&self.next_row()?)?)
    }

    pub(super) fn next_id(&mut self) -> StoreResult<i64> {
        Ok(self.next_row()?.try_get(0)?)
    }
}

#[cfg(test)]
mod tests {
    use super::pg;

    #[test]
    fn numbers_placeholders_outside_literals() {
        assert_eq!(
            pg("SELECT ? WHERE a = '?' AND b = ?"),
            "SELECT $1 WHERE a = '?' AND b = $2"
        );
    }
}
