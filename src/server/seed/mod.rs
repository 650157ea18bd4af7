//! Demo data: 江苏考区 with 南京考点 and 苏州考点, the demo accounts, and
//! candidates spread over every review state with consistent images,
//! feedback and audit events. Deterministic (seeded RNG, times relative to
//! `now`).
//!
//! Bulk-loaded straight into SQLite in large transactions with multi-row
//! inserts: 100,000 candidates take seconds. Images are shared by content
//! address, and each asset is analysed once, not per candidate.
//!
//! This file is the entry point, [`seed_demo`], and the demo's fixed
//! facts (the district, its sites, the password). What it invents and
//! what writes it live apart:
//!
//! - `people.rs`: names, resident ID numbers, schools, hospitals
//! - `documents.rs`: the synthetic document images, analysed once
//! - `history.rs`: one candidate's story, from upload to the last decision
//! - `writer.rs`: the rows a batch of candidates becomes, and the SQL that
//!   writes them into SQLite
//! - `pg_writer.rs`: the same rows into PostgreSQL, with `COPY`

mod documents;
mod history;
mod people;
mod pg_writer;
mod writer;

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::auth;
use super::blobs::Blobs;
use super::store::StoreError;
use super::store::{AnyStore, PgStore, SqliteStore};
use crate::domain::category::MaterialCategory;
use documents::analysed_catalogue;
use history::build_candidate;
use writer::{Account, Batch, load};

pub use documents::{SeedAsset, catalogue};

pub const DISTRICT: &str = "江苏考区";
pub const SITE_NANJING: &str = "南京考点";
pub const SITE_SUZHOU: &str = "苏州考点";
pub const DEMO_PASSWORD: &str = "demo";

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("password hashing: {0}")]
    Hash(#[from] auth::AuthError),
    #[error("seed file: {0}")]
    Io(#[from] std::io::Error),
    #[error("demo asset {0} does not decode: {1}")]
    Asset(String, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub candidates: u32,
    pub images: u64,
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Candidates invented per batch (one multi-row INSERT per table).
const BATCH: u32 = 10_000;

/// The store a seed writes into, of either engine.
pub enum SeedTarget<'a> {
    Sqlite(&'a SqliteStore),
    Postgres(&'a PgStore),
    /// A database file being made by [`seed_demo_file`].
    NewFile(&'a sqlx::SqlitePool),
}

impl<'a> From<&'a SqliteStore> for SeedTarget<'a> {
    fn from(s: &'a SqliteStore) -> Self {
        SeedTarget::Sqlite(s)
    }
}

impl<'a> From<&'a PgStore> for SeedTarget<'a> {
    fn from(s: &'a PgStore) -> Self {
        SeedTarget::Postgres(s)
    }
}

impl<'a> From<&'a AnyStore> for SeedTarget<'a> {
    fn from(s: &'a AnyStore) -> Self {
        match s {
            AnyStore::Sqlite(s) => SeedTarget::Sqlite(s),
            AnyStore::Postgres(s) => SeedTarget::Postgres(s),
        }
    }
}

/// Seed the demo into an empty database. Returns what was written.
///
/// One thread invents the candidates (one seeded RNG, in order, so the demo
/// is the same every time) while this task writes the previous batch. The
/// whole seed is one transaction: a crash leaves the database empty (and
/// the next start seeds it again), and the secondary indexes are built once
/// at the end instead of row by row (`writer::load`).
pub async fn seed_demo<'a>(
    store: impl Into<SeedTarget<'a>>,
    blobs: &Blobs,
    candidates: u32,
    now: DateTime<Utc>,
) -> Result<SeedReport, SeedError> {
    let store = store.into();
    let assets = analysed_catalogue()?;
    // The few distinct documents every candidate's images are made of.
    for a in assets {
        blobs
            .put(&a.sha256, bytes::Bytes::from(a.a.bytes.clone()))
            .await
            .map_err(|e| SeedError::Asset(a.sha256.clone(), e.to_string()))?;
    }
    let password_hash = auth::hash_password(DEMO_PASSWORD)?;
    let mut accounts = Vec::new();
    for (username, display, level, site) in [
        ("nanjing", "王审核", "site", Some(SITE_NANJING)),
        ("suzhou", "李审核", "site", Some(SITE_SUZHOU)),
        ("jiangsu", "张审核", "district", None),
    ] {
        // Each account gets its own salt; the three hashes are cheap.
        accounts.push(Account {
            username,
            display,
            level,
            site,
            password_hash: auth::hash_password(DEMO_PASSWORD)?,
        });
    }
    let (batches, rx) = tokio::sync::mpsc::channel::<Batch>(2);
    let inventor = tokio::task::spawn_blocking(move || invent(assets, candidates, now, &batches));
    let written = match store {
        SeedTarget::Sqlite(s) => load(s.pool(), &accounts, assets, &password_hash, rx).await,
        SeedTarget::NewFile(pool) => load(pool, &accounts, assets, &password_hash, rx).await,
        SeedTarget::Postgres(s) => pg_writer::load(s, &accounts, assets, &password_hash, rx).await,
    };
    let total_images = inventor
        .await
        .map_err(|e| SeedError::Asset("inventor".into(), e.to_string()))?;
    written?;
    match store {
        SeedTarget::Sqlite(s) => s.reload_phash_index().await?,
        SeedTarget::Postgres(s) => s.reload_phash_index().await?,
        // The store opened on it later loads the index.
        SeedTarget::NewFile(_) => {}
    }
    Ok(SeedReport {
        candidates,
        images: total_images,
    })
}

/// Seed the demo into a SQLite file that does not exist yet: written
/// unjournaled under a temporary name beside it, synced, then renamed into
/// place, so a crash leaves no half seed under the real name (a leftover
/// temporary file is removed by the next attempt). The same data as
/// [`seed_demo`] into an opened store, with each page written once.
pub async fn seed_demo_file(
    path: &Path,
    blobs: &Blobs,
    candidates: u32,
    now: DateTime<Utc>,
) -> Result<SeedReport, SeedError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".seeding");
    let tmp = path.with_file_name(name);
    remove_if_present(&tmp)?;
    let pool = writer::open_unjournaled(&tmp).await?;
    let seeded = seed_demo(SeedTarget::NewFile(&pool), blobs, candidates, now).await;
    pool.close().await;
    let report = match seeded {
        Ok(r) => r,
        Err(e) => {
            remove_if_present(&tmp)?;
            return Err(e);
        }
    };
    // Durable before it has the name the server opens.
    std::fs::File::open(&tmp).and_then(|f| f.sync_all())?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir).and_then(|d| d.sync_all())?;
    }
    Ok(report)
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The inventing thread: candidates in batches, in id order, into `out`;
/// returns how many images it invented.
fn invent(
    assets: &'static [documents::Asset],
    candidates: u32,
    now: DateTime<Utc>,
    out: &tokio::sync::mpsc::Sender<Batch>,
) -> u64 {
    let mut rng = StdRng::seed_from_u64(0x5348_454E_4845);
    let by_cat = |cat: MaterialCategory, slot: Option<u8>, flawed: bool| -> Vec<usize> {
        assets
            .iter()
            .enumerate()
            .filter(|(_, x)| {
                x.a.category == cat
                    && x.a.flawed == flawed
                    && (slot.is_none() || x.a.slot.is_none() || x.a.slot == slot)
            })
            .map(|(i, _)| i)
            .collect()
    };
    let mut pools: HashMap<(MaterialCategory, Option<u8>, bool), Vec<usize>> = HashMap::new();
    for cat in MaterialCategory::ALL {
        for slot in [None, Some(0), Some(1)] {
            for flawed in [false, true] {
                pools.insert((cat, slot, flawed), by_cat(cat, slot, flawed));
            }
        }
    }
    // Where each asset was first used, so a near-duplicate can point at it.
    let mut first_use: HashMap<String, (i64, i64)> = HashMap::new();
    let year = now.format("%Y").to_string();
    let start = now - Duration::days(30);
    let mut image_id: i64 = 0;
    let mut total_images = 0u64;
    let mut next = 1u32;
    while next <= candidates {
        let end = (next + BATCH - 1).min(candidates);
        let mut b = Batch::default();
        for id in next..=end {
            build_candidate(
                &mut rng,
                &mut b,
                i64::from(id),
                &year,
                start,
                now,
                assets,
                &pools,
                &mut image_id,
                &mut first_use,
            );
        }
        total_images += b.images.len() as u64;
        // The loader gave up (an error): stop inventing.
        if out.blocking_send(b).is_err() {
            break;
        }
        next = end + 1;
    }
    total_images
}
