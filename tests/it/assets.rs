//! The embedded demo assets: within the upload rules, decodable under the
//! server's limits, and the quality hints say what each asset's flaw is.
//!
//! `cargo test --release --test it assets:: -- --ignored --nocapture` prints the
//! calibration numbers quoted in `src/domain/quality.rs`.

use std::collections::BTreeSet;
use std::sync::LazyLock;
use std::time::Instant;

use shenhe::assets::{ASSETS, Asset, Flaw, by_name, clean};
use shenhe::domain::imaging::{DecodeLimits, Sniffed, decode_limited, sniff};
use shenhe::domain::quality::{QualityReport, analyze, hamming, is_near_duplicate};

const MAX_UPLOAD: usize = 204_800;

/// Analysed once per test binary: debug builds are slow at it.
static REPORTS: LazyLock<Vec<(&'static Asset, QualityReport)>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let r = analyze(a.bytes, DecodeLimits::DEFAULT)
                .unwrap_or_else(|e| panic!("{}: {e}", a.name));
            (a, r)
        })
        .collect()
});

fn report(name: &str) -> &'static QualityReport {
    &REPORTS
        .iter()
        .find(|(a, _)| a.name == name)
        .unwrap_or_else(|| panic!("no asset {name}"))
        .1
}

#[test]
fn every_asset_fits_the_upload_rules_and_decodes() {
    for a in ASSETS {
        assert!(
            a.bytes.len() <= MAX_UPLOAD,
            "{} is {} bytes",
            a.name,
            a.bytes.len()
        );
        assert!(
            matches!(sniff(a.bytes), Sniffed::Accepted(_)),
            "{} sniffs as {:?}",
            a.name,
            sniff(a.bytes)
        );
        let ext_ok = match a.format() {
            shenhe::domain::imaging::Format::Jpeg => a.name.ends_with(".jpg"),
            shenhe::domain::imaging::Format::Png => a.name.ends_with(".png"),
        };
        assert!(ext_ok, "{}: content is {:?}", a.name, a.format());
        let d = decode_limited(a.bytes, DecodeLimits::DEFAULT)
            .unwrap_or_else(|e| panic!("{}: {e}", a.name));
        assert!(d.image.width() > 0 && d.image.height() > 0);
    }
}

#[test]
fn catalogue_lists_exactly_the_files_in_assets_dir() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/assets");
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir)
        .expect("assets/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jpg") || n.ends_with(".png"))
        .collect();
    let listed: BTreeSet<String> = ASSETS.iter().map(|a| a.name.to_string()).collect();
    assert_eq!(listed.len(), ASSETS.len(), "duplicate names in ASSETS");
    assert_eq!(on_disk, listed);

    let readme = std::fs::read_to_string(format!("{dir}/README.md")).expect("README");
    for a in ASSETS {
        assert!(
            readme.contains(&format!("| {} |", a.name)),
            "{} missing from README",
            a.name
        );
    }
    let total: usize = ASSETS.iter().map(|a| a.bytes.len()).sum();
    assert!(total < 4_200_000, "assets total {total} bytes");
}

#[test]
fn every_category_has_clean_variants() {
    for (category, slot) in [
        ("ID_PROOF", Some(0)),
        ("ID_PROOF", Some(1)),
        ("DIPLOMA", None),
        ("DEGREE_RECORD", None),
        ("TRIAL_ASSESSMENT", None),
        ("ASSISTANT_CERT", None),
        ("PRACTICE_LICENSE", None),
        ("INSTITUTION_LICENSE", None),
        ("GRADUATE_PLEDGE", None),
        ("OTHER", None),
    ] {
        let n = clean(category, slot).count();
        assert!((2..=4).contains(&n), "{category} {slot:?}: {n} clean");
    }
    for a in ASSETS {
        assert_eq!(
            a.slot.is_some(),
            a.category == "ID_PROOF",
            "{}: slot {:?}",
            a.name,
            a.slot
        );
    }
}

#[test]
fn hints_say_what_each_flaw_is() {
    for (a, r) in REPORTS.iter() {
        let Some(flaw) = a.flaw else { continue };
        match flaw {
            Flaw::Blurry => assert!(r.blurry, "{}: {r:?}", a.name),
            Flaw::TooSmall => assert!(r.too_small, "{}: {r:?}", a.name),
            Flaw::ExifRotated => {
                assert!(r.not_upright, "{}: {r:?}", a.name);
                assert_eq!(r.orientation.0, 6, "{}", a.name);
            }
            Flaw::LowContrast => assert!(r.low_contrast, "{}: {r:?}", a.name),
            Flaw::NearDuplicate => {
                let of = a.near_duplicate_of.expect("near_duplicate_of");
                assert!(by_name(of).is_some_and(|o| o.flaw.is_none()));
                let d = hamming(r.phash, report(of).phash);
                assert!(
                    is_near_duplicate(r.phash, report(of).phash),
                    "{} vs {of}: distance {d}",
                    a.name
                );
            }
            // Sideways pixels with no EXIF: nothing in the file says so,
            // which is exactly why a reviewer has to catch it.
            Flaw::Rotated => assert!(!r.not_upright, "{}: {r:?}", a.name),
        }
        if flaw != Flaw::NearDuplicate {
            assert!(a.near_duplicate_of.is_none(), "{}", a.name);
        }
    }
}

#[test]
fn clean_assets_are_not_flagged() {
    for (a, r) in REPORTS.iter().filter(|(a, _)| a.flaw.is_none()) {
        assert!(
            !r.blurry && !r.too_small && !r.not_upright && !r.low_contrast,
            "{}: {r:?}",
            a.name
        );
    }
}

/// Only the declared pair is a near duplicate: different documents, even
/// of the same template, must not be flagged, or the demo would accuse
/// innocent candidates of sharing a diploma.
#[test]
fn only_the_declared_pair_is_a_near_duplicate() {
    let r = &*REPORTS;
    for (i, (a, ra)) in r.iter().enumerate() {
        for (b, rb) in &r[i + 1..] {
            let declared =
                a.near_duplicate_of == Some(b.name) || b.near_duplicate_of == Some(a.name);
            assert_eq!(
                is_near_duplicate(ra.phash, rb.phash),
                declared,
                "{} vs {}: distance {}",
                a.name,
                b.name,
                hamming(ra.phash, rb.phash)
            );
        }
    }
}

/// The numbers behind the thresholds in `quality.rs`.
#[test]
#[ignore = "prints calibration numbers; run with --release -- --ignored --nocapture"]
fn calibration_report() {
    println!(
        "{:30} {:>9} {:>6} {:>6} {:>7} {:>8}  flags",
        "asset", "dims", "blur", "contr", "bytes", "ms"
    );
    for a in ASSETS {
        // Best of 7: the machine is shared, the minimum is the cost.
        let mut ms = f64::MAX;
        let mut r = None;
        for _ in 0..7 {
            let t = Instant::now();
            r = Some(analyze(a.bytes, DecodeLimits::DEFAULT).expect("analyze"));
            ms = ms.min(t.elapsed().as_secs_f64() * 1000.0);
        }
        let r = r.expect("ran");
        let mut flags = Vec::new();
        for (on, name) in [
            (r.blurry, "blurry"),
            (r.too_small, "too_small"),
            (r.not_upright, "not_upright"),
            (r.low_contrast, "low_contrast"),
        ] {
            if on {
                flags.push(name);
            }
        }
        println!(
            "{:30} {:>4}x{:<4} {:>6.3} {:>6.3} {:>7} {:>8.1}  {:?} {}",
            a.name,
            r.width,
            r.height,
            r.blur_score,
            r.contrast,
            a.bytes.len(),
            ms,
            a.flaw,
            flags.join(",")
        );
    }
    let r = &*REPORTS;
    let mut distinct = Vec::new();
    for (i, (a, ra)) in r.iter().enumerate() {
        for (b, rb) in &r[i + 1..] {
            let d = hamming(ra.phash, rb.phash);
            if a.near_duplicate_of == Some(b.name) || b.near_duplicate_of == Some(a.name) {
                println!("near-duplicate pair {} / {}: {d}", a.name, b.name);
            } else {
                distinct.push((d, a.name, b.name));
            }
        }
    }
    distinct.sort();
    let hist = |v: &[u32]| {
        (0..=16)
            .step_by(2)
            .map(|k| format!("<={k}:{}", v.iter().filter(|&&d| d <= k).count()))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let all: Vec<u32> = distinct.iter().map(|d| d.0).collect();
    println!("distinct documents, cumulative: {}", hist(&all));
    println!("closest distinct pairs:");
    for (d, a, b) in distinct.iter().take(8) {
        println!("  {d:2}  {a} / {b}");
    }
    let same_category: Vec<u32> = distinct
        .iter()
        .filter(|(_, a, b)| by_name(a).map(|x| x.category) == by_name(b).map(|x| x.category))
        .map(|(d, _, _)| *d)
        .collect();
    println!(
        "distinct pairs: {} (min {}, median {}); same category: {} (min {})",
        distinct.len(),
        distinct.first().map_or(0, |x| x.0),
        distinct[distinct.len() / 2].0,
        same_category.len(),
        same_category.iter().min().copied().unwrap_or(0)
    );
}

/// How far a copy of each clean asset lands from it: what
/// "the same document" looks like to the hash.
#[test]
#[ignore = "prints calibration numbers; run with --release -- --ignored --nocapture"]
fn calibration_copies() {
    use image::imageops::{self, FilterType};
    use image::{DynamicImage, RgbImage};

    fn reencode(img: &RgbImage, quality: u8) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(img)
            .expect("encode");
        out
    }
    type Transform = fn(&RgbImage) -> RgbImage;
    let transforms: [(&str, Transform); 6] = [
        ("re-encoded q50", |i| i.clone()),
        ("2% off left+top", |i| {
            let (w, h) = i.dimensions();
            imageops::crop_imm(i, w / 50, h / 50, w - w / 50, h - h / 50).to_image()
        }),
        ("1% off each side", |i| {
            let (w, h) = i.dimensions();
            imageops::crop_imm(i, w / 100, h / 100, w - w / 50, h - h / 50).to_image()
        }),
        ("brighter +30", |i| {
            let mut o = i.clone();
            o.pixels_mut()
                .for_each(|p| p.0.iter_mut().for_each(|c| *c = c.saturating_add(30)));
            o
        }),
        ("darker x0.8", |i| {
            let mut o = i.clone();
            o.pixels_mut().for_each(|p| {
                p.0.iter_mut()
                    .for_each(|c| *c = (f32::from(*c) * 0.8) as u8)
            });
            o
        }),
        ("half size", |i| {
            imageops::resize(i, i.width() / 2, i.height() / 2, FilterType::Triangle)
        }),
    ];
    for (name, t) in transforms {
        let mut ds = Vec::new();
        for (a, r) in REPORTS.iter().filter(|(a, _)| a.flaw.is_none()) {
            let img: DynamicImage = decode_limited(a.bytes, DecodeLimits::DEFAULT)
                .expect("decode")
                .image;
            let copy = analyze(&reencode(&t(&img.to_rgb8()), 50), DecodeLimits::DEFAULT)
                .expect("analyze copy");
            ds.push(hamming(r.phash, copy.phash));
        }
        ds.sort();
        println!(
            "{name:18} max {:2} median {:2}  matched {}/{}",
            ds[ds.len() - 1],
            ds[ds.len() / 2],
            ds.iter()
                .filter(|&&d| d <= shenhe::domain::quality::NEAR_DUPLICATE_MAX_DISTANCE)
                .count(),
            ds.len()
        );
    }
}
