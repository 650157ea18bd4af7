//! The documents the demo hands out: the project's synthetic images
//! (`assets/`, embedded in the binary), each with the reason a reviewer
//! gives when it is flawed, analysed (hash, quality report) once per
//! process rather than once per candidate.

use sha2::{Digest, Sha256};

use super::SeedError;
use crate::domain::category::MaterialCategory;
use crate::domain::imaging::DecodeLimits;
use crate::domain::quality::{self, QualityReport};

/// An image the seed can hand out.
#[derive(Debug, Clone)]
pub struct SeedAsset {
    pub name: String,
    pub category: MaterialCategory,
    pub slot: Option<u8>,
    pub flawed: bool,
    /// Reason a reviewer gives when unlocking it.
    pub reason: &'static str,
    pub near_duplicate_of: Option<String>,
    pub bytes: Vec<u8>,
}

/// The images the demo hands out: the project's synthetic documents
/// (`assets/`, embedded).
pub fn catalogue() -> Vec<SeedAsset> {
    crate::assets::ASSETS
        .iter()
        .filter_map(|a| {
            Some(SeedAsset {
                name: a.name.to_string(),
                category: MaterialCategory::from_code(a.category)?,
                slot: a.slot,
                flawed: a.flaw.is_some(),
                reason: a.flaw.map_or("BLURRY", flaw_reason),
                near_duplicate_of: a.near_duplicate_of.map(str::to_string),
                bytes: a.bytes.to_vec(),
            })
        })
        .collect()
}

/// The reason a reviewer gives when unlocking an image with this flaw.
fn flaw_reason(f: crate::assets::Flaw) -> &'static str {
    use crate::assets::Flaw;
    match f {
        Flaw::Blurry | Flaw::LowContrast => "BLURRY",
        Flaw::Rotated | Flaw::ExifRotated => "ROTATED",
        Flaw::TooSmall => "INCOMPLETE",
        Flaw::NearDuplicate => "NOT_ORIGINAL",
    }
}

pub(super) struct Asset {
    pub(super) a: SeedAsset,
    pub(super) sha256: String,
    pub(super) report: QualityReport,
}

/// The catalogue with each asset analysed, once per process (the demo and
/// every test server share it).
pub(super) fn analysed_catalogue() -> Result<&'static [Asset], SeedError> {
    static CATALOGUE: std::sync::OnceLock<Result<Vec<Asset>, String>> = std::sync::OnceLock::new();
    let r = CATALOGUE.get_or_init(|| {
        catalogue()
            .into_iter()
            .map(|a| {
                let report = quality::analyze(&a.bytes, DecodeLimits::DEFAULT)
                    .map_err(|e| format!("{}: {e}", a.name))?;
                let sha256 = hex::encode(Sha256::digest(&a.bytes));
                Ok(Asset { a, sha256, report })
            })
            .collect()
    });
    r.as_deref()
        .map_err(|e| SeedError::Asset("catalogue".into(), e.clone()))
}
