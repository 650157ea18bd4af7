//! Demo data: 江苏考区 with 南京考点 and 苏州考点, the demo accounts, and
//! candidates spread over every review state with consistent images,
//! feedback and audit events. Deterministic (seeded RNG, times relative to
//! `now`).
//!
//! Bulk-loaded straight into SQLite in large transactions with multi-row
//! inserts: 100,000 candidates take seconds. Images are shared by content
//! address, and each asset is analysed once, not per candidate.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use sqlx::{QueryBuilder, Sqlite};

use super::auth;
use super::messages;
use super::store::StoreError;
use super::store::sqlite::{DupRef, ImageSnap, LevelSnap, ReviewSnap, SqliteStore, phase_cols};
use crate::domain::audit::AuditAction;
use crate::domain::category::MaterialCategory;
use crate::domain::identity::check_char;
use crate::domain::image::ImagePhase;
use crate::domain::imaging::DecodeLimits;
use crate::domain::quality::{self, QualityReport};
use crate::domain::review::{Level, ReviewStatus};

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
    #[error("demo asset {0} does not decode: {1}")]
    Asset(String, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub candidates: u32,
    pub images: u64,
}

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

struct Asset {
    a: SeedAsset,
    sha256: String,
    report: QualityReport,
}

/// The catalogue with each asset analysed, once per process (the demo and
/// every test server share it).
fn analysed_catalogue() -> Result<&'static [Asset], SeedError> {
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

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "潘", "袁", "蔡", "蒋", "余", "于", "杜", "叶", "程", "魏", "苏", "吕", "丁",
    "沈", "任", "姚", "卢", "钟", "姜", "崔", "谭", "陆", "范", "汪", "廖", "石", "金", "韦", "贾",
];
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "诸葛", "上官", "东方", "慕容", "夏侯", "皇甫",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "文", "玲", "婷", "宇", "浩", "鑫", "晨", "阳",
    "雪", "琳", "欣", "悦", "子", "涵", "博", "思", "雨", "嘉", "梓", "轩", "佳", "怡", "一", "诺",
    "俊", "辉", "建", "国", "志", "海", "燕", "红", "晓", "慧", "颖", "倩", "楠", "凯", "鹏", "飞",
];

/// (category, needs trial assessment, needs assistant certificate).
const EXAM_CATEGORIES: &[(&str, u32)] = &[
    ("临床执业医师", 30),
    ("临床执业助理医师", 20),
    ("中医执业医师", 10),
    ("中医执业助理医师", 6),
    ("口腔执业医师", 8),
    ("口腔执业助理医师", 4),
    ("公共卫生执业医师", 5),
    ("公共卫生执业助理医师", 3),
    ("中西医结合执业医师", 5),
    ("乡村全科执业助理医师", 9),
];

const SCHOOLS: &[&str] = &[
    "南京医科大学",
    "苏州大学",
    "南京中医药大学",
    "东南大学",
    "扬州大学",
    "徐州医科大学",
    "南通大学",
    "江苏大学",
    "江苏医药职业学院",
    "江苏卫生健康职业学院",
    "苏州卫生职业技术学院",
];
const MAJORS: &[&str] = &[
    "临床医学",
    "中医学",
    "口腔医学",
    "预防医学",
    "中西医临床医学",
    "针灸推拿学",
    "全科医学",
];
const EDUCATION: &[(&str, u32)] = &[
    ("本科", 55),
    ("大专", 25),
    ("硕士研究生", 15),
    ("博士研究生", 2),
    ("中专", 3),
];
const NANJING_HOSPITALS: &[&str] = &[
    "江苏省人民医院",
    "南京鼓楼医院",
    "南京市第一医院",
    "江苏省中医院",
    "南京市江宁医院",
    "南京市浦口医院",
    "东南大学附属中大医院",
    "南京市口腔医院",
    "栖霞区迈皋桥社区卫生服务中心",
];
const SUZHOU_HOSPITALS: &[&str] = &[
    "苏州大学附属第一医院",
    "苏州大学附属第二医院",
    "苏州市立医院",
    "昆山市第一人民医院",
    "常熟市第一人民医院",
    "张家港市第一人民医院",
    "苏州市中医医院",
    "吴江区第一人民医院",
    "相城区黄桥街道社区卫生服务中心",
];
/// Real region codes of 南京市 (3201xx) and 苏州市 (3205xx) districts.
const NANJING_REGIONS: &[&str] = &[
    "320102", "320104", "320105", "320106", "320111", "320113", "320114", "320115", "320116",
];
const SUZHOU_REGIONS: &[&str] = &[
    "320505", "320506", "320507", "320508", "320509", "320581", "320582", "320583", "320585",
];

fn pick<T: Copy>(rng: &mut StdRng, xs: &[T]) -> T {
    xs[rng.random_range(0..xs.len())]
}

fn weighted<'a>(rng: &mut StdRng, xs: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = xs.iter().map(|(_, w)| w).sum();
    let mut r = rng.random_range(0..total);
    for (s, w) in xs {
        if r < *w {
            return s;
        }
        r -= w;
    }
    xs[0].0
}

fn chinese_name(rng: &mut StdRng) -> String {
    let mut s = String::new();
    if rng.random_bool(0.04) {
        s.push_str(pick(rng, COMPOUND_SURNAMES));
    } else {
        s.push_str(pick(rng, SURNAMES));
    }
    s.push_str(pick(rng, GIVEN));
    if rng.random_bool(0.7) {
        s.push_str(pick(rng, GIVEN));
    }
    s
}

/// A resident ID number with a valid GB 11643 check character: region,
/// birth date, a 3-digit sequence whose parity is the sex, check.
fn id_number(rng: &mut StdRng, region: &str, birth: NaiveDate, male: bool) -> String {
    let seq: u32 = rng.random_range(0..50) * 2 + u32::from(male);
    let mut s = format!(
        "{region}{}{}{seq:02}",
        birth.format("%Y%m%d"),
        rng.random_range(0..10u32)
    );
    let check = check_char(&s).unwrap_or('0');
    s.push(check);
    s
}

/// The states the demo spreads candidates over, with weights (percent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    NotStarted,
    SiteAwaiting,
    SiteAwaitingStarted,
    SitePending,
    SiteRejected,
    DistrictAwaiting,
    DistrictPending,
    DistrictPassed,
    DistrictRejected,
    Returned,
}

const PLANS: &[(Plan, u32)] = &[
    (Plan::NotStarted, 8),
    (Plan::SiteAwaiting, 28),
    (Plan::SiteAwaitingStarted, 6),
    (Plan::SitePending, 10),
    (Plan::SiteRejected, 2),
    (Plan::DistrictAwaiting, 20),
    (Plan::DistrictPending, 4),
    (Plan::DistrictPassed, 18),
    (Plan::DistrictRejected, 1),
    (Plan::Returned, 3),
];

fn plan(rng: &mut StdRng) -> Plan {
    let mut r = rng.random_range(0..100);
    for (p, w) in PLANS {
        if r < *w {
            return *p;
        }
        r -= w;
    }
    Plan::SiteAwaiting
}

#[derive(Default)]
struct Batch {
    candidates: Vec<CandidateSeed>,
    images: Vec<ImageSeed>,
    feedback: Vec<(i64, &'static str, String, String, i64)>,
    audit: Vec<AuditSeed>,
}

struct CandidateSeed {
    id: i64,
    reg_no: String,
    name: String,
    id_number: String,
    gender: &'static str,
    birth_date: String,
    exam_category: String,
    site: &'static str,
    education: String,
    school: String,
    major: String,
    graduation_date: Option<String>,
    trial_institution: Option<String>,
    phone: String,
    created_at: i64,
    submitted_at: Option<i64>,
    sort_at: i64,
    updated_at: i64,
    version: i64,
    reviews: ReviewSnap,
}

struct ImageSeed {
    id: i64,
    candidate_id: i64,
    category: &'static str,
    slot: i64,
    asset: usize,
    uploaded_at: i64,
    version: i64,
    phase: ImagePhase,
    reasons: Vec<String>,
    note: Option<String>,
    near_dup_of: Vec<DupRef>,
}

struct AuditSeed {
    at: i64,
    actor: String,
    action: AuditAction,
    target: String,
    candidate_id: i64,
    before: String,
    after: String,
    reasons: Vec<String>,
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn level_snap(state: ReviewStatus) -> LevelSnap {
    LevelSnap::fresh(state)
}

fn decided(
    state: ReviewStatus,
    reasons: &[&str],
    reviewer: &str,
    at: i64,
    note: Option<&str>,
) -> LevelSnap {
    LevelSnap {
        state,
        reasons: reasons.iter().map(|s| s.to_string()).collect(),
        note: note.map(str::to_string),
        reviewer: Some(reviewer.to_string()),
        decided_at: Some(at),
    }
}

/// Seed the demo into an empty database. Returns what was written.
pub async fn seed_demo(
    store: &SqliteStore,
    candidates: u32,
    now: DateTime<Utc>,
) -> Result<SeedReport, SeedError> {
    let mut rng = StdRng::seed_from_u64(0x5348_454E_4845);
    let assets = analysed_catalogue()?;
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

    let password_hash = auth::hash_password(DEMO_PASSWORD)?;
    let pool = store.pool();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    for (username, display, level, site) in [
        ("nanjing", "王审核", "site", Some(SITE_NANJING)),
        ("suzhou", "李审核", "site", Some(SITE_SUZHOU)),
        ("jiangsu", "张审核", "district", None),
    ] {
        // Each account gets its own salt; the three hashes are cheap.
        let h = auth::hash_password(DEMO_PASSWORD)?;
        sqlx::query(
            "INSERT INTO reviewers (username, display_name, level, district, site, password_hash) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(username)
        .bind(display)
        .bind(level)
        .bind(DISTRICT)
        .bind(site)
        .bind(h)
        .execute(&mut *tx)
        .await?;
    }
    for a in assets {
        sqlx::query("INSERT OR IGNORE INTO blobs (sha256, format, bytes) VALUES (?, ?, ?)")
            .bind(&a.sha256)
            .bind(a.report.format.as_str())
            .bind(&a.a.bytes)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;

    // Where each asset was first used, so a near-duplicate can point at it.
    let mut first_use: HashMap<String, (i64, i64)> = HashMap::new();
    let year = now.format("%Y").to_string();
    let start = now - Duration::days(30);
    let mut image_id: i64 = 0;
    let mut total_images = 0u64;
    const BATCH: u32 = 10_000;
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
        write_batch(store, &b, &password_hash, assets).await?;
        next = end + 1;
    }
    store.reload_phash_index().await?;
    store.changed();
    Ok(SeedReport {
        candidates,
        images: total_images,
    })
}

#[allow(clippy::too_many_arguments)]
fn build_candidate(
    rng: &mut StdRng,
    b: &mut Batch,
    id: i64,
    year: &str,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    assets: &[Asset],
    pools: &HashMap<(MaterialCategory, Option<u8>, bool), Vec<usize>>,
    image_id: &mut i64,
    first_use: &mut HashMap<String, (i64, i64)>,
) {
    let nanjing = rng.random_bool(0.55);
    let (site, site_code, regions, hospitals, reviewer) = if nanjing {
        (
            SITE_NANJING,
            "01",
            NANJING_REGIONS,
            NANJING_HOSPITALS,
            "nanjing",
        )
    } else {
        (
            SITE_SUZHOU,
            "05",
            SUZHOU_REGIONS,
            SUZHOU_HOSPITALS,
            "suzhou",
        )
    };
    let name = if id == 3 {
        "欧阳娜娜".to_string()
    } else {
        chinese_name(rng)
    };
    let male = rng.random_bool(0.45);
    let birth = NaiveDate::from_ymd_opt(1975, 1, 1)
        .unwrap_or_default()
        .checked_add_days(chrono::Days::new(rng.random_range(0..26 * 365)))
        .unwrap_or_default();
    let region = pick(rng, regions);
    let idn = id_number(rng, region, birth, male);
    let exam = weighted(rng, EXAM_CATEGORIES).to_string();
    let assistant_level = exam.contains("助理");
    let education = weighted(rng, EDUCATION).to_string();
    let school = pick(rng, SCHOOLS).to_string();
    let major = if exam.starts_with("中医") {
        "中医学".to_string()
    } else if exam.starts_with("口腔") {
        "口腔医学".to_string()
    } else if exam.starts_with("公共卫生") {
        "预防医学".to_string()
    } else {
        pick(rng, MAJORS).to_string()
    };
    let fresh_graduate = rng.random_bool(0.2);
    let grad_year = if fresh_graduate {
        now.format("%Y").to_string().parse::<i32>().unwrap_or(2027)
    } else {
        rng.random_range(1998..2025)
    };
    let graduation = NaiveDate::from_ymd_opt(grad_year, 6, 30).map(|d| d.to_string());
    let trial = (!fresh_graduate).then(|| pick(rng, hospitals).to_string());
    let phone = format!(
        "1{}{}{:08}",
        pick(rng, &["3", "5", "7", "8", "9"]),
        rng.random_range(0..10),
        rng.random_range(0..100_000_000u32)
    );
    let created = start + Duration::seconds(rng.random_range(0..20 * 86_400));
    let submitted = created + Duration::seconds(rng.random_range(600..5 * 86_400));
    let submitted = submitted.min(now - Duration::minutes(5));
    let decided_at = submitted + Duration::seconds(rng.random_range(600..3 * 86_400));
    let decided_at = decided_at
        .min(now - Duration::minutes(2))
        .timestamp_millis();
    let district_at = decided_at + rng.random_range(60_000..86_400_000);
    let district_at = district_at.min((now - Duration::minutes(1)).timestamp_millis());
    let p = plan(rng);
    let reg_no = format!("{year}{site_code}{id:07}");

    // Materials: which categories this candidate uploads.
    let mut cats: Vec<(MaterialCategory, Option<u8>)> = vec![
        (MaterialCategory::IdProof, Some(0)),
        (MaterialCategory::IdProof, Some(1)),
        (MaterialCategory::Diploma, None),
        (MaterialCategory::DegreeRecord, None),
    ];
    if !fresh_graduate {
        cats.push((MaterialCategory::TrialAssessment, None));
    } else {
        cats.push((MaterialCategory::GraduatePledge, None));
    }
    if !assistant_level && rng.random_bool(0.3) {
        cats.push((MaterialCategory::AssistantCert, None));
        cats.push((MaterialCategory::PracticeLicense, None));
    }
    if exam.starts_with("乡村") && rng.random_bool(0.5) {
        cats.push((MaterialCategory::InstitutionLicense, None));
    }
    if rng.random_bool(0.1) {
        cats.push((MaterialCategory::Other, None));
    }
    // NotStarted candidates may not have finished uploading.
    if p == Plan::NotStarted {
        let keep = rng.random_range(1..=cats.len());
        cats.truncate(keep);
    }
    // About one candidate in seven has a flawed image somewhere; pending
    // ones always do (it is why they are pending).
    let wants_flaw =
        matches!(p, Plan::SitePending | Plan::DistrictPending) || rng.random_bool(0.14);
    let flaw_at = if wants_flaw {
        let candidates: Vec<usize> = cats
            .iter()
            .enumerate()
            .filter(|(_, (c, s))| pools.get(&(*c, *s, true)).is_some_and(|v| !v.is_empty()))
            .map(|(i, _)| i)
            .collect();
        (!candidates.is_empty()).then(|| candidates[rng.random_range(0..candidates.len())])
    } else {
        None
    };

    let mut slots_used: HashMap<MaterialCategory, i64> = HashMap::new();
    let mut imgs: Vec<ImageSeed> = Vec::new();
    let mut flawed_image: Option<usize> = None;
    for (i, (cat, slot)) in cats.iter().enumerate() {
        let flawed = flaw_at == Some(i);
        let pool = pools
            .get(&(*cat, *slot, flawed))
            .filter(|v| !v.is_empty())
            .or_else(|| pools.get(&(*cat, *slot, false)).filter(|v| !v.is_empty()));
        let Some(pool) = pool else { continue };
        let asset = pick(rng, pool);
        let s = slot.map_or_else(
            || {
                let e = slots_used.entry(*cat).or_insert(0);
                let v = *e;
                *e += 1;
                v
            },
            i64::from,
        );
        *image_id += 1;
        let mut near = Vec::new();
        let a = &assets[asset];
        if let Some(orig) = &a.a.near_duplicate_of
            && let Some((img, cand)) = first_use.get(orig)
            && *cand != id
        {
            let d = assets
                .iter()
                .find(|x| &x.a.name == orig)
                .map_or(0, |o| quality::hamming(o.report.phash, a.report.phash));
            near.push(DupRef {
                image_id: *img,
                distance: d,
            });
        }
        first_use.entry(a.a.name.clone()).or_insert((*image_id, id));
        if flawed && a.a.flawed {
            flawed_image = Some(imgs.len());
        }
        imgs.push(ImageSeed {
            id: *image_id,
            candidate_id: id,
            category: cat.code(),
            slot: s,
            asset,
            uploaded_at: (created + Duration::seconds(rng.random_range(0..600))).timestamp_millis(),
            version: 1,
            phase: ImagePhase::Draft,
            reasons: Vec::new(),
            note: None,
            near_dup_of: near,
        });
    }

    let other_site_reviewer = reviewer;
    let sub = Some(submitted.timestamp_millis());
    let mut version = 1 + imgs.len() as i64;
    let mut audit: Vec<AuditSeed> = Vec::new();
    let mut feedback: Vec<(i64, &'static str, String, String, i64)> = Vec::new();
    let target = format!("candidate:{id}");
    let mut reviews = ReviewSnap {
        level: None,
        site: level_snap(ReviewStatus::NotStarted),
        district: level_snap(ReviewStatus::NotStarted),
    };
    let push_review = |audit: &mut Vec<AuditSeed>,
                       reviews: &mut ReviewSnap,
                       next: ReviewSnap,
                       actor: &str,
                       action: AuditAction,
                       at: i64| {
        let before = ReviewSnap {
            level: next.level,
            ..reviews.clone()
        };
        let reasons = match next.level {
            Some(Level::District) => next.district.reasons.clone(),
            Some(Level::Site) => next.site.reasons.clone(),
            None => Vec::new(),
        };
        audit.push(AuditSeed {
            at,
            actor: actor.to_string(),
            action,
            target: target.clone(),
            candidate_id: id,
            before: to_json(&before),
            after: to_json(&next),
            reasons,
        });
        *reviews = next;
    };

    if p != Plan::NotStarted {
        for im in &mut imgs {
            im.phase = ImagePhase::Submitted;
        }
        let next = ReviewSnap {
            level: None,
            site: level_snap(ReviewStatus::AwaitingReview),
            district: level_snap(ReviewStatus::NotStarted),
        };
        version += 1;
        push_review(
            &mut audit,
            &mut reviews,
            next,
            &reg_no,
            AuditAction::Submit,
            submitted.timestamp_millis(),
        );
    }

    // Reviewer image judgements: lock everything the level has looked at,
    // unlock the flawed one where the plan says pending.
    let judge_all = |imgs: &mut Vec<ImageSeed>,
                     audit: &mut Vec<AuditSeed>,
                     upto: usize,
                     level: Level,
                     actor: &str,
                     at: i64,
                     version: &mut i64| {
        for im in imgs.iter_mut().take(upto) {
            if im.phase == ImagePhase::Submitted {
                let before = ImageSnap {
                    level: Some(level),
                    phase: im.phase,
                    reasons: Vec::new(),
                    note: None,
                };
                im.phase = ImagePhase::Accepted;
                im.version += 1;
                *version += 1;
                let after = ImageSnap {
                    phase: im.phase,
                    ..before.clone()
                };
                audit.push(AuditSeed {
                    at,
                    actor: actor.to_string(),
                    action: AuditAction::ImageLock,
                    target: format!("image:{}", im.id),
                    candidate_id: im.candidate_id,
                    before: to_json(&before),
                    after: to_json(&after),
                    reasons: Vec::new(),
                });
            }
        }
    };
    let unlock = |im: &mut ImageSeed,
                  audit: &mut Vec<AuditSeed>,
                  feedback: &mut Vec<(i64, &'static str, String, String, i64)>,
                  level: Level,
                  actor: &str,
                  reason: &str,
                  at: i64,
                  version: &mut i64| {
        let before = ImageSnap {
            level: Some(level),
            phase: im.phase,
            reasons: Vec::new(),
            note: None,
        };
        im.phase = ImagePhase::ReplaceRequested {
            was_accepted: im.phase == ImagePhase::Accepted,
            replaced: false,
        };
        im.reasons = vec![reason.to_string()];
        im.version += 1;
        *version += 1;
        let after = ImageSnap {
            level: Some(level),
            phase: im.phase,
            reasons: im.reasons.clone(),
            note: None,
        };
        audit.push(AuditSeed {
            at,
            actor: actor.to_string(),
            action: AuditAction::ImageUnlock,
            target: format!("image:{}", im.id),
            candidate_id: im.candidate_id,
            before: to_json(&before),
            after: to_json(&after),
            reasons: im.reasons.clone(),
        });
        let cat = MaterialCategory::from_code(im.category).unwrap_or(MaterialCategory::Other);
        let slot = u8::try_from(im.slot).unwrap_or(0);
        feedback.push((
            im.candidate_id,
            "system",
            messages::unlocked(level, cat, slot, &im.reasons, None),
            actor.to_string(),
            at,
        ));
    };

    let n = imgs.len();
    let site_passed = |_: &ReviewSnap| ReviewSnap {
        level: Some(Level::Site),
        site: decided(
            ReviewStatus::Passed,
            &[],
            other_site_reviewer,
            decided_at,
            None,
        ),
        district: level_snap(ReviewStatus::AwaitingReview),
    };
    match p {
        Plan::NotStarted | Plan::SiteAwaiting => {}
        Plan::SiteAwaitingStarted => {
            let upto = rng.random_range(1..=n.max(1));
            judge_all(
                &mut imgs,
                &mut audit,
                upto,
                Level::Site,
                reviewer,
                decided_at,
                &mut version,
            );
        }
        Plan::SitePending => {
            judge_all(
                &mut imgs,
                &mut audit,
                n,
                Level::Site,
                reviewer,
                decided_at,
                &mut version,
            );
            let victim = flawed_image.unwrap_or(n.saturating_sub(1));
            if let Some(im) = imgs.get_mut(victim) {
                let reason = assets[im.asset].a.reason;
                unlock(
                    im,
                    &mut audit,
                    &mut feedback,
                    Level::Site,
                    reviewer,
                    reason,
                    decided_at,
                    &mut version,
                );
            }
            let next = ReviewSnap {
                level: Some(Level::Site),
                site: decided(
                    ReviewStatus::Pending,
                    &["MAT_NONCOMPLIANT"],
                    reviewer,
                    decided_at,
                    None,
                ),
                ..reviews.clone()
            };
            version += 1;
            push_review(
                &mut audit,
                &mut reviews,
                next,
                reviewer,
                AuditAction::Decision,
                decided_at,
            );
            feedback.push((
                id,
                "system",
                messages::pending(Level::Site, &["MAT_NONCOMPLIANT".into()], None),
                reviewer.to_string(),
                decided_at,
            ));
        }
        Plan::SiteRejected => {
            judge_all(
                &mut imgs,
                &mut audit,
                n,
                Level::Site,
                reviewer,
                decided_at,
                &mut version,
            );
            let note = "报考类别与学历专业不符";
            let next = ReviewSnap {
                level: Some(Level::Site),
                site: decided(
                    ReviewStatus::Rejected,
                    &["INELIGIBLE"],
                    reviewer,
                    decided_at,
                    Some(note),
                ),
                ..reviews.clone()
            };
            version += 1;
            push_review(
                &mut audit,
                &mut reviews,
                next,
                reviewer,
                AuditAction::Decision,
                decided_at,
            );
            feedback.push((
                id,
                "system",
                messages::rejected(Level::Site, &["INELIGIBLE".into()], Some(note)),
                reviewer.to_string(),
                decided_at,
            ));
        }
        Plan::DistrictAwaiting
        | Plan::DistrictPending
        | Plan::DistrictPassed
        | Plan::DistrictRejected
        | Plan::Returned => {
            judge_all(
                &mut imgs,
                &mut audit,
                n,
                Level::Site,
                reviewer,
                decided_at,
                &mut version,
            );
            let next = site_passed(&reviews);
            version += 1;
            push_review(
                &mut audit,
                &mut reviews,
                next,
                reviewer,
                AuditAction::Decision,
                decided_at,
            );
            let district_next = match p {
                Plan::DistrictPending => {
                    let victim = flawed_image.unwrap_or(n.saturating_sub(1));
                    if let Some(im) = imgs.get_mut(victim) {
                        let reason = assets[im.asset].a.reason;
                        unlock(
                            im,
                            &mut audit,
                            &mut feedback,
                            Level::District,
                            "jiangsu",
                            reason,
                            district_at,
                            &mut version,
                        );
                    }
                    feedback.push((
                        id,
                        "system",
                        messages::pending(Level::District, &["MAT_NONCOMPLIANT".into()], None),
                        "jiangsu".to_string(),
                        district_at,
                    ));
                    Some(ReviewSnap {
                        level: Some(Level::District),
                        district: decided(
                            ReviewStatus::Pending,
                            &["MAT_NONCOMPLIANT"],
                            "jiangsu",
                            district_at,
                            None,
                        ),
                        ..reviews.clone()
                    })
                }
                Plan::DistrictPassed => Some(ReviewSnap {
                    level: Some(Level::District),
                    district: decided(ReviewStatus::Passed, &[], "jiangsu", district_at, None),
                    ..reviews.clone()
                }),
                Plan::DistrictRejected => {
                    feedback.push((
                        id,
                        "system",
                        messages::rejected(Level::District, &["INELIGIBLE".into()], None),
                        "jiangsu".to_string(),
                        district_at,
                    ));
                    Some(ReviewSnap {
                        level: Some(Level::District),
                        district: decided(
                            ReviewStatus::Rejected,
                            &["INELIGIBLE"],
                            "jiangsu",
                            district_at,
                            None,
                        ),
                        ..reviews.clone()
                    })
                }
                Plan::Returned => Some(ReviewSnap {
                    level: Some(Level::District),
                    site: level_snap(ReviewStatus::AwaitingReview),
                    district: decided(
                        ReviewStatus::Returned,
                        &["ONSITE"],
                        "jiangsu",
                        district_at,
                        Some("请考点核对试用期考核证明原件"),
                    ),
                }),
                _ => None,
            };
            if let Some(next) = district_next {
                version += 1;
                push_review(
                    &mut audit,
                    &mut reviews,
                    next,
                    "jiangsu",
                    AuditAction::Decision,
                    district_at,
                );
            }
        }
    }

    // A few have been phoned or texted about their materials.
    if p != Plan::NotStarted && rng.random_bool(0.04) {
        let (channel, body) = if rng.random_bool(0.5) {
            ("sms", "已短信通知考生按要求重新上传相关材料。")
        } else {
            ("phone", "已电话联系考生，考生表示将尽快补充材料。")
        };
        feedback.push((
            id,
            channel,
            body.to_string(),
            reviewer.to_string(),
            decided_at,
        ));
        audit.push(AuditSeed {
            at: decided_at,
            actor: reviewer.to_string(),
            action: AuditAction::Feedback,
            target: format!("candidate:{id}"),
            candidate_id: id,
            before: "null".into(),
            after: format!("{{\"channel\":\"{channel}\"}}"),
            reasons: Vec::new(),
        });
    }

    let last = audit
        .iter()
        .map(|a| a.at)
        .max()
        .unwrap_or(created.timestamp_millis());
    b.candidates.push(CandidateSeed {
        id,
        reg_no,
        name,
        id_number: idn,
        gender: if male { "男" } else { "女" },
        birth_date: birth.to_string(),
        exam_category: exam,
        site,
        education,
        school,
        major,
        graduation_date: graduation,
        trial_institution: trial,
        phone,
        created_at: created.timestamp_millis(),
        submitted_at: if p == Plan::NotStarted { None } else { sub },
        sort_at: if p == Plan::NotStarted {
            created.timestamp_millis()
        } else {
            submitted.timestamp_millis()
        },
        updated_at: last,
        version,
        reviews,
    });
    b.images.extend(imgs);
    b.feedback.extend(feedback);
    b.audit.extend(audit);
}

/// Rows per multi-row INSERT: under SQLite's 32,766 bound parameters.
fn chunk_rows(columns: usize) -> usize {
    (30_000 / columns).max(1)
}

async fn write_batch(
    store: &SqliteStore,
    b: &Batch,
    password_hash: &str,
    assets: &[Asset],
) -> Result<(), SeedError> {
    let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await?;
    for chunk in b.candidates.chunks(chunk_rows(33)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO candidates (id, reg_no, name, id_type, id_number, gender, birth_date, \
             exam_category, district, site, education, school, major, graduation_date, \
             trial_institution, phone, password_hash, created_at, submitted_at, sort_at, updated_at, \
             version, site_state, site_reasons, site_note, site_reviewer, site_decided_at, \
             district_state, district_reasons, district_note, district_reviewer, district_decided_at) ",
        );
        qb.push_values(chunk, |mut row, c| {
            let r = &c.reviews;
            row.push_bind(c.id)
                .push_bind(&c.reg_no)
                .push_bind(&c.name)
                .push_bind("居民身份证")
                .push_bind(&c.id_number)
                .push_bind(c.gender)
                .push_bind(&c.birth_date)
                .push_bind(&c.exam_category)
                .push_bind(DISTRICT)
                .push_bind(c.site)
                .push_bind(&c.education)
                .push_bind(&c.school)
                .push_bind(&c.major)
                .push_bind(&c.graduation_date)
                .push_bind(&c.trial_institution)
                .push_bind(&c.phone)
                .push_bind(password_hash)
                .push_bind(c.created_at)
                .push_bind(c.submitted_at)
                .push_bind(c.sort_at)
                .push_bind(c.updated_at)
                .push_bind(c.version)
                .push_bind(r.site.state.as_str())
                .push_bind(to_json(&r.site.reasons))
                .push_bind(&r.site.note)
                .push_bind(&r.site.reviewer)
                .push_bind(r.site.decided_at)
                .push_bind(r.district.state.as_str())
                .push_bind(to_json(&r.district.reasons))
                .push_bind(&r.district.note)
                .push_bind(&r.district.reviewer)
                .push_bind(r.district.decided_at);
        });
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in b.images.chunks(chunk_rows(26)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO images (id, candidate_id, category, slot, generation, format, bytes, width, \
             height, sha256, uploaded_at, version, phase, was_accepted, replaced, reasons, note, \
             orientation, not_upright, blur_score, blurry, too_small, phash, duplicate_of, \
             near_dup_of, flagged) ",
        );
        qb.push_values(chunk, |mut row, im| {
            let a = &assets[im.asset];
            let r = &a.report;
            let (phase, was_accepted, replaced) = phase_cols(im.phase);
            let flagged = r.blurry || r.too_small || r.not_upright || !im.near_dup_of.is_empty();
            row.push_bind(im.id)
                .push_bind(im.candidate_id)
                .push_bind(im.category)
                .push_bind(im.slot)
                .push_bind(1i64)
                .push_bind(r.format.as_str())
                .push_bind(a.a.bytes.len() as i64)
                .push_bind(i64::from(r.width))
                .push_bind(i64::from(r.height))
                .push_bind(&a.sha256)
                .push_bind(im.uploaded_at)
                .push_bind(im.version)
                .push_bind(phase)
                .push_bind(was_accepted)
                .push_bind(replaced)
                .push_bind(to_json(&im.reasons))
                .push_bind(&im.note)
                .push_bind(i64::from(r.orientation.0))
                .push_bind(r.not_upright)
                .push_bind(f64::from(r.blur_score))
                .push_bind(r.blurry)
                .push_bind(r.too_small)
                .push_bind(r.phash as i64)
                .push_bind("[]")
                .push_bind(to_json(&im.near_dup_of))
                .push_bind(flagged);
        });
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in b.feedback.chunks(chunk_rows(5)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO feedback (candidate_id, channel, body, author, created_at) ",
        );
        qb.push_values(chunk, |mut row, (cid, ch, body, author, at)| {
            row.push_bind(*cid)
                .push_bind(*ch)
                .push_bind(body)
                .push_bind(author)
                .push_bind(*at);
        });
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in b.audit.chunks(chunk_rows(8)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO audit (at, actor, action, target, candidate_id, before, after, reasons) ",
        );
        qb.push_values(chunk, |mut row, a| {
            row.push_bind(a.at)
                .push_bind(&a.actor)
                .push_bind(a.action.as_str())
                .push_bind(&a.target)
                .push_bind(a.candidate_id)
                .push_bind(&a.before)
                .push_bind(&a.after)
                .push_bind(to_json(&a.reasons));
        });
        qb.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identity::validate_id_number;

    #[test]
    fn id_numbers_are_valid_and_regional() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..1000 {
            let birth = NaiveDate::from_ymd_opt(1990, 5, 17).expect("date");
            let male = rng.random_bool(0.5);
            let id = id_number(&mut rng, "320106", birth, male);
            let facts = validate_id_number(&id).expect("valid");
            assert_eq!(facts.birth_date, birth);
            assert_eq!(facts.male, male);
            assert!(id.starts_with("320106"));
        }
    }

    #[test]
    fn names_are_two_to_four_characters() {
        let mut rng = StdRng::seed_from_u64(2);
        for _ in 0..1000 {
            let n = chinese_name(&mut rng).chars().count();
            assert!((2..=4).contains(&n), "{n}");
        }
    }
}
