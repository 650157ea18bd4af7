//! Several statements sent to the connection as one: one round trip to its
//! thread instead of one each. A unit of work loads what it needs in one
//! statement and writes everything in one script (the row updates, the
//! audit event, the feedback), so a decision or a lock is two round trips.
//!
//! `sqlx` binds a multi-statement query's `?` parameters in order across
//! the statements, and returns the rows of every statement in order: each
//! `RETURNING` clause gives one row, read back with [`Rows`].

use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqliteRow};
use sqlx::{Arguments, Encode, FromRow, Row, Sqlite, Type};

use crate::server::store::{StoreError, StoreResult};

#[derive(Default)]
pub(super) struct Script {
    sql: String,
    args: SqliteArguments,
    /// The first value that could not be encoded (reported at `run`).
    bad: Option<String>,
}

impl Script {
    /// Append one statement.
    pub(super) fn sql(&mut self, statement: &str) -> &mut Script {
        self.sql.push_str(statement);
        self.sql.push_str(";\n");
        self
    }

    /// Bind the next `?`.
    pub(super) fn bind<'q, T: Encode<'q, Sqlite> + Type<Sqlite>>(
        &mut self,
        value: T,
    ) -> &mut Script {
        if let Err(e) = self.args.add(value) {
            self.bad.get_or_insert(e.to_string());
        }
        self
    }

    pub(super) async fn run(self, conn: &mut SqliteConnection) -> StoreResult<Rows> {
        if let Some(e) = self.bad {
            return Err(StoreError::Corrupt(format!("cannot bind a value: {e}")));
        }
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(self.sql), self.args)
            .fetch_all(&mut *conn)
            .await?;
        Ok(Rows(rows.into_iter()))
    }
}

/// The rows a script returned, in the order of its `RETURNING` statements.
pub(super) struct Rows(std::vec::IntoIter<SqliteRow>);

impl Rows {
    fn next_row(&mut self) -> StoreResult<SqliteRow> {
        self.0
            .next()
            .ok_or_else(|| StoreError::Corrupt("a statement returned no row".into()))
    }

    pub(super) fn next<T: for<'r> FromRow<'r, SqliteRow>>(&mut self) -> StoreResult<T> {
        Ok(T::from_row(&self.next_row()?)?)
    }

    pub(super) fn next_id(&mut self) -> StoreResult<i64> {
        Ok(self.next_row()?.try_get(0)?)
    }
}
