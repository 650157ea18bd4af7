//! `sqlx::FromRow` by column name, as `#[derive(FromRow)]` writes it.
//!
//! The derive lives in sqlx's macro crate, whose build links SQLite a
//! second time (its C compiled again, for the build host, to check `query!`
//! against a database: ~30 s of a two-core CI build) for macros this crate
//! never uses. The migrations are embedded by hand for the same reason
//! (`migrations.rs`).

/// A row struct and its `FromRow` for one engine: every field is the
/// column of its name; a first field marked `flatten` is a row struct of
/// its own read from the same row (`#[sqlx(flatten)]`).
macro_rules! row_struct {
    (
        $db:ty;
        $(#[$m:meta])*
        $vis:vis struct $name:ident {
            flatten $c:ident : $ct:ty,
            $( $f:ident : $t:ty ),* $(,)?
        }
    ) => {
        $(#[$m])*
        $vis struct $name { $c: $ct, $( $f: $t ),* }

        impl<'r> ::sqlx::FromRow<'r, <$db as ::sqlx::Database>::Row> for $name {
            fn from_row(row: &'r <$db as ::sqlx::Database>::Row) -> ::sqlx::Result<Self> {
                use ::sqlx::Row as _;
                Ok(Self {
                    $c: <$ct as ::sqlx::FromRow<'r, _>>::from_row(row)?,
                    $( $f: row.try_get(stringify!($f))? ),*
                })
            }
        }
    };
    (
        $db:ty;
        $(#[$m:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fm:meta])* $fvis:vis $f:ident : $t:ty ),* $(,)?
        }
    ) => {
        $(#[$m])*
        $vis struct $name { $( $(#[$fm])* $fvis $f: $t ),* }

        impl<'r> ::sqlx::FromRow<'r, <$db as ::sqlx::Database>::Row> for $name {
            fn from_row(row: &'r <$db as ::sqlx::Database>::Row) -> ::sqlx::Result<Self> {
                use ::sqlx::Row as _;
                Ok(Self { $( $f: row.try_get(stringify!($f))? ),* })
            }
        }
    };
}
pub(crate) use row_struct;
