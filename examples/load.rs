//! Load run: N simulated reviewers (the console's own API client) for S
//! seconds against a running `shenhe serve`, then the invariants.
//!
//!   cargo run --release --example load -- --server URL --reviewers 50 \
//!       --seconds 60 [--db PATH]
//!
//! Each reviewer loops like a person at the console: list a queue page,
//! open (claim) a candidate from it, read the dossier, fetch an image, lock
//! one image, unlock another and lock it again, decide (pass or pending),
//! release. Prints p50/p99 per endpoint, the non-2xx answers by status and
//! the 5xx count; exits non-zero on any 5xx, transport error or broken
//! invariant. With `--db` (the server's database file, read after the run)
//! the invariants are also checked over every candidate in SQL.
//! `bench/load.sh` seeds 100,000 candidates and runs it.

use std::collections::{BTreeMap, HashSet};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rand::Rng;
use shenhe::api::client::{Client, Timeouts};
use shenhe::api::dto::{CandidateQuery, DecisionRequest, UnlockRequest};
use shenhe::api::error::ApiError;
use shenhe::domain::image::{Lock, Verdict};
use shenhe::domain::review::{Decision, Level};

// `exactly_once` needs the acknowledged keys, which only steady.rs keeps.
#[allow(dead_code)]
#[path = "common/invariants.rs"]
mod invariants;
use invariants::{api_invariants, db_invariants};

struct Args {
    server: String,
    reviewers: usize,
    seconds: u64,
    db: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        server: "http://127.0.0.1:8080".into(),
        reviewers: 50,
        seconds: 60,
        db: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--server" => a.server = val()?,
            "--reviewers" => a.reviewers = val()?.parse().map_err(|e| format!("{e}"))?,
            "--seconds" => a.seconds = val()?.parse().map_err(|e| format!("{e}"))?,
            "--db" => a.db = Some(val()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

/// (endpoint, microseconds, status: 0 = transport error)
type Sample = (&'static str, u64, u16);

#[derive(Default)]
struct Log {
    samples: Vec<Sample>,
    touched: HashSet<i64>,
    decisions: u64,
}

fn status_of<T>(r: &Result<T, ApiError>) -> u16 {
    match r {
        Ok(_) => 200,
        Err(e) => e.status().unwrap_or(0),
    }
}

async fn timed<T>(
    log: &mut Log,
    endpoint: &'static str,
    fut: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let t = Instant::now();
    let r = fut.await;
    log.samples
        .push((endpoint, t.elapsed().as_micros() as u64, status_of(&r)));
    r
}

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn reviewer(server: String, user: &'static str, until: Instant) -> Result<Log, String> {
    let client =
        Client::new(&server, None, Timeouts::default()).map_err(|e| format!("client: {e}"))?;
    client
        .login(user, "demo")
        .await
        .map_err(|e| format!("login {user}: {e}"))?;
    let level = if user == "jiangsu" {
        Level::District
    } else {
        Level::Site
    };
    let mut log = Log::default();
    while Instant::now() < until {
        let q = CandidateQuery {
            state: Some("awaiting_review".into()),
            limit: Some(50),
            ..CandidateQuery::default()
        };
        let Ok(page) = timed(&mut log, "GET /candidates", client.candidates(&q)).await else {
            continue;
        };
        if page.items.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let pick = rand::rng().random_range(0..page.items.len());
        let cid = page.items[pick].id;
        let claim = timed(
            &mut log,
            "POST /candidates/{id}/claim",
            client.claim(cid, &key()),
        )
        .await;
        if claim.is_err() {
            // Someone else holds it (409): back to the queue, like a person.
            continue;
        }
        log.touched.insert(cid);
        let Ok(d) = timed(&mut log, "GET /candidates/{id}", client.candidate(cid)).await else {
            continue;
        };
        let images: Vec<_> = d
            .materials
            .iter()
            .flat_map(|m| m.images.iter())
            .filter(|i| i.lock == Lock::Locked)
            .cloned()
            .collect();
        // Lock one not yet judged (locking an accepted one is a 409).
        let unreviewed = images.iter().find(|i| i.verdict == Verdict::Unreviewed);
        if let Some(first) = unreviewed.or(images.first()) {
            let _ = timed(
                &mut log,
                "GET /images/{id}/content",
                client.image_content(first.id),
            )
            .await;
            let _ = timed(
                &mut log,
                "POST /images/{id}/lock",
                client.lock(first.id, first.version, &key()),
            )
            .await;
        }
        if let Some(second) = images
            .iter()
            .find(|i| Some(i.id) != unreviewed.map(|u| u.id))
        {
            let unlock = UnlockRequest {
                reasons: vec!["BLURRY".into()],
                note: None,
                expected_version: Some(second.version),
            };
            if let Ok(r) = timed(
                &mut log,
                "POST /images/{id}/unlock",
                client.unlock(second.id, &unlock, &key()),
            )
            .await
            {
                // Relock (the reviewer changed their mind).
                let _ = timed(
                    &mut log,
                    "POST /images/{id}/lock",
                    client.lock(second.id, r.image.version, &key()),
                )
                .await;
            }
        }
        let pass = rand::rng().random_bool(0.5);
        let req = DecisionRequest {
            level,
            decision: if pass {
                Decision::Pass
            } else {
                Decision::Pending
            },
            reasons: if pass {
                Vec::new()
            } else {
                vec!["MAT_NONCOMPLIANT".into()]
            },
            note: None,
            expected_version: None,
        };
        if timed(
            &mut log,
            "POST /candidates/{id}/decision",
            client.decide(cid, &req, &key()),
        )
        .await
        .is_ok()
        {
            log.decisions += 1;
        }
        let _ = timed(
            &mut log,
            "DELETE /candidates/{id}/claim",
            client.release(cid),
        )
        .await;
    }
    Ok(log)
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("load: {e}");
            return ExitCode::from(2);
        }
    };
    // Site reviewers mostly; every fifth is the district reviewer. Several
    // sessions share an account, as a busy site's staff might.
    let accounts = ["nanjing", "suzhou", "nanjing", "suzhou", "jiangsu"];
    let since_ms = chrono::Utc::now().timestamp_millis();
    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for i in 0..args.reviewers {
        tasks.push(tokio::spawn(reviewer(
            args.server.clone(),
            accounts[i % accounts.len()],
            until,
        )));
    }
    let mut all = Log::default();
    let mut failed = false;
    for t in tasks {
        match t.await {
            Ok(Ok(log)) => {
                all.samples.extend(log.samples);
                all.touched.extend(log.touched);
                all.decisions += log.decisions;
            }
            Ok(Err(e)) => {
                eprintln!("reviewer: {e}");
                failed = true;
            }
            Err(e) => {
                eprintln!("reviewer task: {e}");
                failed = true;
            }
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let mut by_endpoint: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut non2xx: BTreeMap<(&str, u16), u64> = BTreeMap::new();
    let mut fivexx = 0u64;
    let mut transport = 0u64;
    for (ep, us, st) in &all.samples {
        by_endpoint.entry(ep).or_default().push(*us);
        if !(200..300).contains(st) {
            *non2xx.entry((ep, *st)).or_default() += 1;
        }
        if *st >= 500 {
            fivexx += 1;
        }
        if *st == 0 {
            transport += 1;
        }
    }
    println!(
        "{} reviewers, {:.1} s, {} requests ({:.0}/s), {} decisions, {} candidates opened",
        args.reviewers,
        wall,
        all.samples.len(),
        all.samples.len() as f64 / wall,
        all.decisions,
        all.touched.len()
    );
    println!(
        "| endpoint | requests | p50 ms | p99 ms | max ms |\n| --- | ---: | ---: | ---: | ---: |"
    );
    for (ep, v) in by_endpoint.iter_mut() {
        v.sort_unstable();
        println!(
            "| `{ep}` | {} | {:.1} | {:.1} | {:.1} |",
            v.len(),
            pct(v, 0.5),
            pct(v, 0.99),
            pct(v, 1.0)
        );
    }
    println!("non-2xx by endpoint and status (0 = transport error):");
    for ((ep, st), n) in &non2xx {
        println!("  {ep} {st}: {n}");
    }
    println!("5xx: {fivexx}, transport errors: {transport}");

    let mut broken = match api_invariants(&args.server, &all.touched).await {
        Ok(b) => b,
        Err(e) => vec![format!("api invariants: {e}")],
    };
    if let Some(db) = &args.db {
        match db_invariants(db, since_ms).await {
            Ok(b) => broken.extend(b),
            Err(e) => broken.push(format!("db invariants: {e}")),
        }
    }
    if broken.is_empty() {
        println!(
            "invariants: all hold ({} candidates via the API)",
            all.touched.len()
        );
    } else {
        println!("invariants BROKEN ({}):", broken.len());
        for b in broken.iter().take(20) {
            println!("  {b}");
        }
    }
    if failed || fivexx > 0 || transport > 0 || !broken.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
