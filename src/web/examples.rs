//! 示例: one example image per category (per slot for 身份证明), taken from
//! the embedded synthetic `assets/` and scaled down once, so a phone loads
//! ~20 KB per example instead of the 150 KB originals.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::assets;
use crate::domain::category::MaterialCategory;

/// Width of an example as served (CSS shows it at most 320 px wide; 1.5x).
const EXAMPLE_WIDTH: u32 = 480;

/// An example as served: JPEG bytes and their ETag.
#[derive(Debug)]
pub struct Example {
    pub bytes: Vec<u8>,
    pub etag: String,
}

/// The name under which a slot's example is served, e.g. `ID_PROOF-0`.
pub fn example_name(cat: MaterialCategory, slot: Option<u8>) -> String {
    match (cat.fixed_count(), slot) {
        (Some(_), Some(s)) => format!("{}-{s}", cat.code()),
        _ => cat.code().to_string(),
    }
}

fn source(cat: MaterialCategory, slot: Option<u8>) -> Option<&'static assets::Asset> {
    assets::clean(cat.code(), slot).next()
}

fn scale(bytes: &[u8]) -> Option<Vec<u8>> {
    let img = image::load_from_memory(bytes).ok()?;
    let h =
        (u64::from(img.height()) * u64::from(EXAMPLE_WIDTH) / u64::from(img.width().max(1))).max(1);
    let small = img.resize_exact(
        EXAMPLE_WIDTH.min(img.width()),
        u32::try_from(h).ok()?.min(img.height()),
        image::imageops::FilterType::Triangle,
    );
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), 72)
        .encode_image(&small.to_rgb8())
        .ok()?;
    Some(out)
}

fn build() -> HashMap<String, Example> {
    let mut map = HashMap::new();
    for cat in MaterialCategory::ALL {
        let slots: Vec<Option<u8>> = match cat.fixed_count() {
            Some(n) => (0..n).map(Some).collect(),
            None => vec![None],
        };
        for slot in slots {
            let Some(bytes) = source(cat, slot).and_then(|a| scale(a.bytes)) else {
                continue;
            };
            let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&bytes))[..32]);
            map.insert(example_name(cat, slot), Example { bytes, etag });
        }
    }
    map
}

static EXAMPLES: OnceLock<HashMap<String, Example>> = OnceLock::new();

/// The example called `name`; the first call scales them all (blocking:
/// call it off the async threads).
pub fn get(name: &str) -> Option<&'static Example> {
    EXAMPLES.get_or_init(build).get(name)
}

/// Whether a category has an example to show.
pub fn exists(cat: MaterialCategory, slot: Option<u8>) -> bool {
    source(cat, slot).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_has_a_small_example() {
        for cat in MaterialCategory::ALL {
            let slot = cat.fixed_count().map(|_| 0);
            assert!(exists(cat, slot), "{cat:?}");
            let e = get(&example_name(cat, slot)).expect("example");
            assert!(e.bytes.len() < 80_000, "{cat:?}: {}", e.bytes.len());
        }
        assert!(get("ID_PROOF-1").is_some());
        assert!(get("../etc/passwd").is_none());
    }
}
