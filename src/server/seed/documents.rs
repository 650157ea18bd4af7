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

/// The analysis of every asset, committed beside the images
/// (`assets/quality.json`): the demo and every test server would otherwise
/// decode all of them at start-up, seconds in an unoptimised build. An
/// entry counts only while its SHA-256 matches the embedded bytes; a test
/// keeps the file current (`SHENHE_REGEN_ASSETS=1` rewrites it).
const TABLE: &str = include_str!("../../../assets/quality.json");

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct TableEntry {
    name: String,
    sha256: String,
    report: QualityReport,
}

fn analyse(a: &SeedAsset) -> Result<QualityReport, String> {
    quality::analyze(&a.bytes, DecodeLimits::DEFAULT).map_err(|e| format!("{}: {e}", a.name))
}

/// The catalogue with each asset's analysis, once per process (the demo and
/// every test server share it): from the table where it matches, else
/// computed.
pub(super) fn analysed_catalogue() -> Result<&'static [Asset], SeedError> {
    static CATALOGUE: std::sync::OnceLock<Result<Vec<Asset>, String>> = std::sync::OnceLock::new();
    let r = CATALOGUE.get_or_init(|| {
        let table: Vec<TableEntry> = serde_json::from_str(TABLE).unwrap_or_default();
        catalogue()
            .into_iter()
            .map(|a| {
                let sha256 = hex::encode(Sha256::digest(&a.bytes));
                let known = table
                    .iter()
                    .find(|e| e.name == a.name && e.sha256 == sha256)
                    .map(|e| e.report);
                let report = match known {
                    Some(r) => r,
                    None => analyse(&a)?,
                };
                Ok(Asset { a, sha256, report })
            })
            .collect()
    });
    r.as_deref()
        .map_err(|e| SeedError::Asset("catalogue".into(), e.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed table is what analysing the embedded assets gives now.
    #[test]
    fn the_committed_analysis_is_current() {
        let fresh: Vec<TableEntry> = catalogue()
            .iter()
            .map(|a| TableEntry {
                name: a.name.clone(),
                sha256: hex::encode(Sha256::digest(&a.bytes)),
                report: analyse(a).expect("analyse"),
            })
            .collect();
        let text = serde_json::to_string_pretty(&fresh).expect("json") + "\n";
        if std::env::var_os("SHENHE_REGEN_ASSETS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/quality.json");
            std::fs::write(path, &text).expect("write assets/quality.json");
            return;
        }
        assert!(
            TABLE == text,
            "assets/quality.json is stale (an asset or the analysis changed): \
             SHENHE_REGEN_ASSETS=1 cargo test --lib the_committed_analysis_is_current"
        );
    }
}
