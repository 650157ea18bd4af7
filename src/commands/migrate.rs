//! `shenhe migrate --db PATH|URL`: apply the migrations and exit, so a
//! deployment migrates once before it starts (or restarts) its instances.

use super::{Failure, LazyRuntime, log_to_stderr};
use crate::cli::MigrateArgs;
use crate::server::store::{DbTarget, SqliteStore, postgres};

pub fn run(args: &MigrateArgs, rt: &LazyRuntime) -> Result<(), Failure> {
    let rt = rt.get()?;
    log_to_stderr();
    rt.block_on(async {
        match &args.db {
            // Opening a SQLite store migrates it.
            DbTarget::Sqlite(path) => SqliteStore::open(path).await?.close().await,
            DbTarget::Postgres(url) => postgres::migrate(url).await?,
        }
        Ok::<(), crate::server::store::StoreError>(())
    })
    .map_err(|e| Failure::general(format!("shenhe migrate: {e}")))?;
    say!("shenhe migrate: {} is up to date", args.db);
    Ok(())
}
