//! The synthetic demo documents in `assets/`, embedded in the binary so
//! `shenhe demo` and the tests need no files on disk.
//!
//! Every image is drawn by `examples/make_assets.rs` (see `assets/README.md`):
//! no real person's data. Clean assets are distinct documents (no two are
//! near duplicates of each other); flawed ones carry the defect a reviewer
//! should notice, and [`crate::domain::quality::analyze`] flags it where a
//! hint exists (`tests/it/assets.rs` checks both).

use crate::domain::imaging::{Format, Sniffed, sniff};

/// What is wrong with a flawed asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flaw {
    /// Out of focus or shaken: `blurry` hint.
    Blurry,
    /// The pixels themselves lie sideways (no EXIF to fix it). No hint
    /// detects this yet; the reviewer's ROTATED reason.
    Rotated,
    /// Stored sideways with EXIF Orientation 6: `not_upright` hint.
    ExifRotated,
    /// A thumbnail: `too_small` hint.
    TooSmall,
    /// Another candidate's copy of a clean asset (re-encoded, cropped):
    /// its perceptual hash is within the near-duplicate distance.
    NearDuplicate,
    /// Over-exposed or faded: `low_contrast` hint.
    LowContrast,
}

/// One embedded image.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// File name under `assets/`.
    pub name: &'static str,
    /// Material category code, as in the domain: "ID_PROOF", "DIPLOMA",
    /// "DEGREE_RECORD", "TRIAL_ASSESSMENT", "ASSISTANT_CERT",
    /// "PRACTICE_LICENSE", "INSTITUTION_LICENSE", "GRADUATE_PLEDGE", "OTHER".
    pub category: &'static str,
    /// ID_PROOF only: 0 正面 (front), 1 反面 (back).
    pub slot: Option<u8>,
    pub flaw: Option<Flaw>,
    /// For [`Flaw::NearDuplicate`]: the name of the asset it copies.
    pub near_duplicate_of: Option<&'static str>,
    pub bytes: &'static [u8],
}

impl Asset {
    /// Judged by content, as uploads are. Every asset is a JPEG or PNG
    /// (`tests/it/assets.rs`); anything else reads as JPEG.
    pub fn format(&self) -> Format {
        match sniff(self.bytes) {
            Sniffed::Accepted(f) => f,
            _ => Format::Jpeg,
        }
    }
}

macro_rules! asset {
    ($name:literal, $category:literal, $slot:expr, $flaw:expr) => {
        asset!($name, $category, $slot, $flaw, None)
    };
    ($name:literal, $category:literal, $slot:expr, $flaw:expr, $dup:expr) => {
        Asset {
            name: $name,
            category: $category,
            slot: $slot,
            flaw: $flaw,
            near_duplicate_of: $dup,
            bytes: include_bytes!(concat!("../assets/", $name)),
        }
    };
}

/// Every asset; clean ones first, in the order of `assets/README.md`.
pub static ASSETS: &[Asset] = &[
    asset!("id_front_1.jpg", "ID_PROOF", Some(0), None),
    asset!("id_front_2.jpg", "ID_PROOF", Some(0), None),
    asset!("id_front_3.jpg", "ID_PROOF", Some(0), None),
    asset!("id_back_1.jpg", "ID_PROOF", Some(1), None),
    asset!("id_back_2.jpg", "ID_PROOF", Some(1), None),
    asset!("id_back_3.png", "ID_PROOF", Some(1), None),
    asset!("diploma_1.jpg", "DIPLOMA", None, None),
    asset!("diploma_2.jpg", "DIPLOMA", None, None),
    asset!("diploma_3.jpg", "DIPLOMA", None, None),
    asset!("degree_record_1.jpg", "DEGREE_RECORD", None, None),
    asset!("degree_record_2.jpg", "DEGREE_RECORD", None, None),
    asset!("trial_assessment_1.jpg", "TRIAL_ASSESSMENT", None, None),
    asset!("trial_assessment_2.jpg", "TRIAL_ASSESSMENT", None, None),
    asset!("trial_assessment_3.jpg", "TRIAL_ASSESSMENT", None, None),
    asset!("assistant_cert_1.jpg", "ASSISTANT_CERT", None, None),
    asset!("assistant_cert_2.jpg", "ASSISTANT_CERT", None, None),
    asset!("practice_license_1.jpg", "PRACTICE_LICENSE", None, None),
    asset!("practice_license_2.jpg", "PRACTICE_LICENSE", None, None),
    asset!(
        "institution_license_1.jpg",
        "INSTITUTION_LICENSE",
        None,
        None
    ),
    asset!(
        "institution_license_2.jpg",
        "INSTITUTION_LICENSE",
        None,
        None
    ),
    asset!("graduate_pledge_1.png", "GRADUATE_PLEDGE", None, None),
    asset!("graduate_pledge_2.jpg", "GRADUATE_PLEDGE", None, None),
    asset!("other_1.jpg", "OTHER", None, None),
    asset!("other_2.jpg", "OTHER", None, None),
    asset!(
        "id_front_blurry.jpg",
        "ID_PROOF",
        Some(0),
        Some(Flaw::Blurry)
    ),
    asset!("diploma_blurry.jpg", "DIPLOMA", None, Some(Flaw::Blurry)),
    asset!(
        "trial_assessment_blurry.jpg",
        "TRIAL_ASSESSMENT",
        None,
        Some(Flaw::Blurry)
    ),
    asset!(
        "id_back_sideways.jpg",
        "ID_PROOF",
        Some(1),
        Some(Flaw::Rotated)
    ),
    asset!(
        "degree_record_sideways.jpg",
        "DEGREE_RECORD",
        None,
        Some(Flaw::Rotated)
    ),
    asset!(
        "practice_license_exif6.jpg",
        "PRACTICE_LICENSE",
        None,
        Some(Flaw::ExifRotated)
    ),
    asset!(
        "id_front_small.jpg",
        "ID_PROOF",
        Some(0),
        Some(Flaw::TooSmall)
    ),
    asset!(
        "graduate_pledge_small.png",
        "GRADUATE_PLEDGE",
        None,
        Some(Flaw::TooSmall)
    ),
    asset!(
        "diploma_1_copy.jpg",
        "DIPLOMA",
        None,
        Some(Flaw::NearDuplicate),
        Some("diploma_1.jpg")
    ),
    asset!(
        "id_back_overexposed.jpg",
        "ID_PROOF",
        Some(1),
        Some(Flaw::LowContrast)
    ),
    asset!(
        "trial_assessment_faded.jpg",
        "TRIAL_ASSESSMENT",
        None,
        Some(Flaw::LowContrast)
    ),
];

fn matches(a: &Asset, category: &str, slot: Option<u8>) -> bool {
    a.category == category && (slot.is_none() || a.slot == slot)
}

/// Clean assets of a category; `slot: None` means any slot.
pub fn clean(category: &str, slot: Option<u8>) -> impl Iterator<Item = &'static Asset> {
    ASSETS
        .iter()
        .filter(move |a| a.flaw.is_none() && matches(a, category, slot))
}

/// Flawed assets of a category; `slot: None` means any slot.
pub fn flawed(category: &str, slot: Option<u8>) -> impl Iterator<Item = &'static Asset> {
    ASSETS
        .iter()
        .filter(move |a| a.flaw.is_some() && matches(a, category, slot))
}

/// Assets with a given flaw, any category.
pub fn with_flaw(flaw: Flaw) -> impl Iterator<Item = &'static Asset> {
    ASSETS.iter().filter(move |a| a.flaw == Some(flaw))
}

pub fn by_name(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}
