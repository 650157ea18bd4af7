//! Steady-rate (open-loop) load: requests leave at fixed arrival rates,
//! whatever the server's answers do, and each latency is measured from the
//! time the request was *scheduled* to leave, so a slow server cannot slow
//! the load down and hide its own queueing (no coordinated omission).
//!
//!   cargo run --release --example steady -- --server URL \
//!       [--rates 50,200,1000] [--seconds 20] [--health 100] \
//!       [--saturate 10] [--saturate-decisions 10] [--conns 64] \
//!       [--db PATH] [--server-log PATH]
//!
//! At each rate R (decisions per second) four streams run side by side, as
//! reviewers at the console make them: queue pages (the awaiting tab, 50
//! rows) at R/s, dossiers at R/s, a lock of one unreviewed image from those
//! dossiers at R/s, and decisions at R/s (site: pending, district: pass),
//! each candidate's decision 0.5 s after its dossier; /health at a fixed
//! rate beside them. Every write carries an Idempotency-Key, like the
//! console's. Then `--saturate S`: C closed-loop workers lock and unlock
//! their own image back to back for S seconds, the fsynced-writes ceiling;
//! then `--saturate-decisions S` (default: the same S): C workers decide
//! their own candidate (site level, 审核待定 again and again) back to back,
//! the same ceiling for decisions.
//!
//! Prints p50/p99/p99.9 per endpoint for each step and, with
//! `--server-log` (the server run with
//! `RUST_LOG=...,shenhe::server::store::sqlite::writer=debug`), the writer's
//! batch sizes during the step. Afterwards the invariants of
//! `examples/common/invariants.rs`, and with `--db` that every acknowledged
//! write is in the audit log exactly once. Exits non-zero on a 5xx, a
//! transport error or a broken invariant.

#[path = "common/invariants.rs"]
mod invariants;
#[path = "common/writer_log.rs"]
mod writer_log;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shenhe::api::client::{Client, Timeouts};
use shenhe::api::dto::{CandidateQuery, DecisionRequest, UnlockRequest};
use shenhe::api::error::ApiError;
use shenhe::domain::image::{Lock, Verdict};
use shenhe::domain::review::{Decision, Level};

struct Args {
    server: String,
    rates: Vec<u32>,
    seconds: u64,
    health: u32,
    saturate: u64,
    saturate_decisions: Option<u64>,
    conns: usize,
    db: Option<String>,
    server_log: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        server: "http://127.0.0.1:8080".into(),
        rates: vec![50, 200, 1000],
        seconds: 20,
        health: 100,
        saturate: 10,
        saturate_decisions: None,
        conns: 64,
        db: None,
        server_log: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| v.parse::<u64>().map_err(|e| format!("{e}"));
        match flag.as_str() {
            "--server" => a.server = val()?,
            "--rates" => {
                a.rates = val()?
                    .split(',')
                    .map(|r| r.trim().parse().map_err(|e| format!("{e}")))
                    .collect::<Result<_, _>>()?
            }
            "--seconds" => a.seconds = num(val()?)?,
            "--health" => a.health = num(val()?)? as u32,
            "--saturate" => a.saturate = num(val()?)?,
            "--saturate-decisions" => a.saturate_decisions = Some(num(val()?)?),
            "--conns" => a.conns = num(val()?)? as usize,
            "--db" => a.db = Some(val()?),
            "--server-log" => a.server_log = Some(val()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ep {
    Health,
    Queue,
    Dossier,
    Lock,
    Unlock,
    Decision,
}

impl Ep {
    fn name(self) -> &'static str {
        match self {
            Ep::Health => "GET /health",
            Ep::Queue => "GET /candidates?state=awaiting_review&limit=50",
            Ep::Dossier => "GET /candidates/{id}",
            Ep::Lock => "POST /images/{id}/lock",
            Ep::Unlock => "POST /images/{id}/unlock",
            Ep::Decision => "POST /candidates/{id}/decision",
        }
    }
}

/// A candidate to open and decide, by one of the accounts.
#[derive(Clone, Copy)]
struct Unit {
    account: usize,
    cid: i64,
}

/// An image to lock: (account, image, version).
type Target = (usize, i64, i64);

struct Shared {
    accounts: Vec<(Arc<Client>, Level)>,
    /// For the queue pages, read as bytes.
    raw: reqwest::Client,
    units: Vec<Unit>,
    dossier_next: AtomicUsize,
    decide_next: AtomicUsize,
    locks: Mutex<VecDeque<Target>>,
    /// (endpoint, µs from the scheduled send, status; 0 = transport error)
    samples: Mutex<Vec<(Ep, u64, u16)>>,
    /// Idempotency keys of acknowledged writes, for the exactly-once check.
    acked: Mutex<Vec<String>>,
    touched: Mutex<HashSet<i64>>,
}

fn status_of<T>(r: &Result<T, ApiError>) -> u16 {
    match r {
        Ok(_) => 200,
        Err(e) => e.status().unwrap_or(0),
    }
}

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Shared {
    fn record<T>(&self, ep: Ep, scheduled: Instant, r: &Result<T, ApiError>) {
        let us = scheduled.elapsed().as_micros() as u64;
        if let Ok(mut s) = self.samples.lock() {
            s.push((ep, us, status_of(r)));
        }
    }

    fn acked(&self, key: String) {
        if let Ok(mut a) = self.acked.lock() {
            a.push(key);
        }
    }

    /// One request of `ep`, scheduled for `at`.
    async fn fire(self: Arc<Self>, ep: Ep, at: Instant, health: Arc<Client>) {
        match ep {
            Ep::Health => {
                let r = health.health().await;
                self.record(ep, at, &r);
            }
            Ep::Queue => {
                // Read whole but not parsed: the tool's CPU is the server's
                // (same two cores), and nothing here needs the page.
                let client = &self.accounts[rand::random_range(0..self.accounts.len())].0;
                let url = format!(
                    "{}/api/v1/candidates?state=awaiting_review&limit=50",
                    client.base_url()
                );
                let status = match self
                    .raw
                    .get(url)
                    .bearer_auth(client.token().unwrap_or_default())
                    .send()
                    .await
                {
                    Ok(resp) => {
                        let st = resp.status().as_u16();
                        if resp.bytes().await.is_ok() { st } else { 0 }
                    }
                    Err(_) => 0,
                };
                if let Ok(mut s) = self.samples.lock() {
                    s.push((ep, at.elapsed().as_micros() as u64, status));
                }
            }
            Ep::Dossier => {
                let n = self.dossier_next.fetch_add(1, Ordering::Relaxed);
                let Some(u) = self.units.get(n).copied() else {
                    return;
                };
                let r = self.accounts[u.account].0.candidate(u.cid).await;
                self.record(ep, at, &r);
                if let Ok(d) = r {
                    let img = d
                        .materials
                        .iter()
                        .flat_map(|m| m.images.iter())
                        .find(|i| i.lock == Lock::Locked && i.verdict == Verdict::Unreviewed);
                    if let (Some(i), Ok(mut q)) = (img, self.locks.lock()) {
                        q.push_back((u.account, i.id, i.version));
                    }
                }
            }
            Ep::Lock => {
                let next = self.locks.lock().ok().and_then(|mut q| q.pop_front());
                let Some((account, image, version)) = next else {
                    return;
                };
                let k = key();
                let r = self.accounts[account].0.lock(image, version, &k).await;
                self.record(ep, at, &r);
                if r.is_ok() {
                    self.acked(k);
                }
            }
            Ep::Unlock => {}
            Ep::Decision => {
                let n = self.decide_next.fetch_add(1, Ordering::Relaxed);
                let Some(u) = self.units.get(n).copied() else {
                    return;
                };
                let (client, level) = &self.accounts[u.account];
                let pass = *level == Level::District;
                let req = DecisionRequest {
                    level: *level,
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
                let k = key();
                let r = client.decide(u.cid, &req, &k).await;
                self.record(ep, at, &r);
                if r.is_ok() {
                    self.acked(k);
                }
                if let Ok(mut t) = self.touched.lock() {
                    t.insert(u.cid);
                }
            }
        }
    }
}

/// Fire `ep` at `rate` per second for `length` from `start + delay`: each
/// request its own task, sent at its scheduled instant.
async fn stream(
    sh: Arc<Shared>,
    health: Arc<Client>,
    ep: Ep,
    rate: u32,
    start: Instant,
    delay: Duration,
    length: Duration,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    if rate == 0 {
        return tasks;
    }
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let first = start + delay;
    let until = first + length;
    let mut i: u32 = 0;
    loop {
        let at = first + interval * i;
        if at >= until {
            break;
        }
        tokio::time::sleep_until(at.into()).await;
        // Every request due by now leaves now (timer ticks are ~1 ms).
        let now = Instant::now();
        loop {
            let at = first + interval * i;
            if at > now || at >= until {
                break;
            }
            tasks.push(tokio::spawn(sh.clone().fire(ep, at, health.clone())));
            i += 1;
        }
    }
    tasks
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

/// The table of a step; returns (5xx, transport errors).
fn report(samples: &[(Ep, u64, u16)], wall: f64) -> (u64, u64) {
    let mut by: BTreeMap<Ep, Vec<u64>> = BTreeMap::new();
    let mut bad: BTreeMap<(Ep, u16), u64> = BTreeMap::new();
    let (mut fivexx, mut transport) = (0, 0);
    for (ep, us, st) in samples {
        by.entry(*ep).or_default().push(*us);
        if !(200..300).contains(st) {
            *bad.entry((*ep, *st)).or_default() += 1;
            fivexx += u64::from(*st >= 500);
            transport += u64::from(*st == 0);
        }
    }
    println!("| endpoint | requests | /s | p50 ms | p99 ms | p99.9 ms | max ms |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (ep, v) in by.iter_mut() {
        v.sort_unstable();
        println!(
            "| `{}` | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} |",
            ep.name(),
            v.len(),
            v.len() as f64 / wall,
            pct(v, 0.5),
            pct(v, 0.99),
            pct(v, 0.999),
            pct(v, 1.0)
        );
    }
    for ((ep, st), n) in &bad {
        println!("  non-2xx: {} {st}: {n}", ep.name());
    }
    (fivexx, transport)
}

async fn login(server: &str, user: &str) -> Result<Arc<Client>, String> {
    let t = Timeouts {
        request: Duration::from_secs(30),
        ..Timeouts::default()
    };
    let c = Client::new(server, None, t).map_err(|e| e.to_string())?;
    c.login(user, "demo")
        .await
        .map_err(|e| format!("login {user}: {e}"))?;
    Ok(Arc::new(c))
}

/// Awaiting candidates of each account, unclaimed, round-robin: `need` units.
async fn prefetch(accounts: &[(Arc<Client>, Level)], need: usize) -> Result<Vec<Unit>, String> {
    let mut per: Vec<Vec<i64>> = Vec::new();
    for (c, _) in accounts {
        let mut ids = Vec::new();
        let mut cursor = None;
        while ids.len() < need / accounts.len() + 1 {
            let q = CandidateQuery {
                state: Some("awaiting_review".into()),
                limit: Some(500),
                cursor: cursor.clone(),
                ..CandidateQuery::default()
            };
            let page = c.candidates(&q).await.map_err(|e| e.to_string())?;
            ids.extend(
                page.items
                    .iter()
                    .filter(|i| i.claim.is_none())
                    .map(|i| i.id),
            );
            match page.next_cursor {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        per.push(ids);
    }
    let mut units = Vec::new();
    let mut k = 0;
    while units.len() < need && per.iter().any(|v| k < v.len()) {
        for (account, ids) in per.iter().enumerate() {
            if let Some(cid) = ids.get(k) {
                units.push(Unit { account, cid: *cid });
            }
        }
        k += 1;
    }
    if units.len() < need {
        return Err(format!(
            "only {} awaiting candidates, need {need}: seed more",
            units.len()
        ));
    }
    Ok(units)
}

/// Closed loop: each worker locks and unlocks its own image back to back.
async fn saturate(sh: Arc<Shared>, targets: Vec<Target>, until: Instant) -> u64 {
    let mut tasks = Vec::new();
    for (account, image, version) in targets {
        let sh = sh.clone();
        tasks.push(tokio::spawn(async move {
            let client = sh.accounts[account].0.clone();
            let (mut v, mut n, mut locked) = (version, 0u64, false);
            while Instant::now() < until {
                let at = Instant::now();
                let k = key();
                let (ep, r) = if locked {
                    let body = UnlockRequest {
                        reasons: vec!["BLURRY".into()],
                        note: None,
                        expected_version: Some(v),
                    };
                    (Ep::Unlock, client.unlock(image, &body, &k).await)
                } else {
                    (Ep::Lock, client.lock(image, v, &k).await)
                };
                sh.record(ep, at, &r);
                match r {
                    Ok(resp) => {
                        sh.acked(k);
                        v = resp.image.version;
                        locked = !locked;
                        n += 1;
                    }
                    Err(_) => break,
                }
            }
            n
        }));
    }
    let mut done = 0;
    for t in tasks {
        done += t.await.unwrap_or(0);
    }
    done
}

/// Closed loop: each worker decides its own candidate (site level, pending
/// with a reason, again and again) back to back.
async fn saturate_decisions(sh: Arc<Shared>, cands: Vec<Unit>, until: Instant) -> u64 {
    let mut tasks = Vec::new();
    for u in cands {
        let sh = sh.clone();
        tasks.push(tokio::spawn(async move {
            let client = sh.accounts[u.account].0.clone();
            let mut n = 0u64;
            while Instant::now() < until {
                let at = Instant::now();
                let k = key();
                let req = DecisionRequest {
                    level: Level::Site,
                    decision: Decision::Pending,
                    reasons: vec![
                        if n.is_multiple_of(2) {
                            "MAT_NONCOMPLIANT"
                        } else {
                            "ONSITE"
                        }
                        .into(),
                    ],
                    note: None,
                    expected_version: None,
                };
                let r = client.decide(u.cid, &req, &k).await;
                sh.record(Ep::Decision, at, &r);
                if r.is_err() {
                    break;
                }
                sh.acked(k);
                n += 1;
            }
            if let Ok(mut t) = sh.touched.lock() {
                t.insert(u.cid);
            }
            n
        }));
    }
    let mut done = 0;
    for t in tasks {
        done += t.await.unwrap_or(0);
    }
    done
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("steady: {e}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("steady: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<bool, String> {
    let since_ms = chrono::Utc::now().timestamp_millis();
    let mut accounts = Vec::new();
    for (user, level) in [
        ("nanjing", Level::Site),
        ("suzhou", Level::Site),
        ("jiangsu", Level::District),
    ] {
        accounts.push((login(&args.server, user).await?, level));
    }
    let health =
        Arc::new(Client::new(&args.server, None, Timeouts::default()).map_err(|e| e.to_string())?);
    let steps: usize = args
        .rates
        .iter()
        .map(|r| *r as usize * args.seconds as usize)
        .sum();
    let sat_dec = args.saturate_decisions.unwrap_or(args.saturate);
    let spare = if args.saturate > 0 { args.conns * 4 } else { 0 }
        + if sat_dec > 0 { args.conns * 3 } else { 0 };
    let mut units = prefetch(&accounts, steps + steps / 20 + spare + 10).await?;
    // The saturation workers' images and candidates come from units no step
    // will reach (the candidates from the end, site accounts only).
    let mut spare_units = units.split_off(units.len() - spare);
    let mut deciders = Vec::new();
    if sat_dec > 0 {
        let mut rest = spare_units.split_off(spare_units.len() - args.conns * 3);
        rest.retain(|u| accounts[u.account].1 == Level::Site);
        rest.truncate(args.conns);
        deciders = rest;
    }
    let mut targets = Vec::new();
    for u in spare_units {
        if targets.len() == args.conns {
            break;
        }
        let d = accounts[u.account]
            .0
            .candidate(u.cid)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(i) = d
            .materials
            .iter()
            .flat_map(|m| m.images.iter())
            .find(|i| i.lock == Lock::Locked && i.verdict == Verdict::Unreviewed)
        {
            targets.push((u.account, i.id, i.version));
        }
    }
    let sh = Arc::new(Shared {
        raw: reqwest::Client::new(),
        accounts,
        units,
        dossier_next: AtomicUsize::new(0),
        decide_next: AtomicUsize::new(0),
        locks: Mutex::new(VecDeque::new()),
        samples: Mutex::new(Vec::new()),
        acked: Mutex::new(Vec::new()),
        touched: Mutex::new(HashSet::new()),
    });
    let (mut fivexx, mut transport) = (0, 0);
    let mut ok = true;
    for rate in &args.rates {
        let start = Instant::now() + Duration::from_millis(200);
        let length = Duration::from_secs(args.seconds);
        let t0 = chrono::Utc::now();
        let streams = [
            (Ep::Health, args.health, Duration::ZERO),
            (Ep::Queue, *rate, Duration::ZERO),
            (Ep::Dossier, *rate, Duration::ZERO),
            (Ep::Lock, *rate, Duration::from_millis(100)),
            (Ep::Decision, *rate, Duration::from_millis(500)),
        ];
        let mut spawners = Vec::new();
        for (ep, r, delay) in streams {
            spawners.push(tokio::spawn(stream(
                sh.clone(),
                health.clone(),
                ep,
                r,
                start,
                delay,
                length,
            )));
        }
        for s in spawners {
            for t in s.await.map_err(|e| e.to_string())? {
                let _ = t.await;
            }
        }
        let wall = args.seconds as f64;
        let samples = std::mem::take(&mut *sh.samples.lock().map_err(|e| e.to_string())?);
        let decided = samples
            .iter()
            .filter(|(ep, _, st)| *ep == Ep::Decision && *st == 200)
            .count();
        println!(
            "\n== {rate} decisions/s for {} s, with queue pages and dossiers at {rate}/s each, \
             a lock per dossier that shows an unreviewed image, /health at {}/s",
            args.seconds, args.health
        );
        let (f, t) = report(&samples, wall);
        (fivexx, transport) = (fivexx + f, transport + t);
        println!(
            "decisions acknowledged: {decided} ({:.0}/s)",
            decided as f64 / wall
        );
        if let Some(log) = &args.server_log {
            println!(
                "writer: {}",
                writer_log::summary(log, t0, chrono::Utc::now())
            );
        }
    }
    if args.saturate > 0 && !targets.is_empty() {
        let n = targets.len();
        let start = Instant::now();
        let until = start + Duration::from_secs(args.saturate);
        let t0 = chrono::Utc::now();
        let health_stream = tokio::spawn(stream(
            sh.clone(),
            health.clone(),
            Ep::Health,
            args.health,
            start,
            Duration::ZERO,
            Duration::from_secs(args.saturate),
        ));
        let done = saturate(sh.clone(), targets, until).await;
        for t in health_stream.await.map_err(|e| e.to_string())? {
            let _ = t.await;
        }
        let wall = start.elapsed().as_secs_f64();
        let samples = std::mem::take(&mut *sh.samples.lock().map_err(|e| e.to_string())?);
        println!(
            "\n== saturation: {n} closed-loop workers, lock/unlock back to back for {} s, /health at {}/s",
            args.saturate, args.health
        );
        let (f, t) = report(&samples, wall);
        (fivexx, transport) = (fivexx + f, transport + t);
        println!(
            "fsynced writes acknowledged: {done} ({:.0}/s)",
            done as f64 / wall
        );
        if let Some(log) = &args.server_log {
            println!(
                "writer: {}",
                writer_log::summary(log, t0, chrono::Utc::now())
            );
        }
    }
    if sat_dec > 0 && !deciders.is_empty() {
        let n = deciders.len();
        let start = Instant::now();
        let until = start + Duration::from_secs(sat_dec);
        let t0 = chrono::Utc::now();
        let health_stream = tokio::spawn(stream(
            sh.clone(),
            health.clone(),
            Ep::Health,
            args.health,
            start,
            Duration::ZERO,
            Duration::from_secs(sat_dec),
        ));
        let done = saturate_decisions(sh.clone(), deciders, until).await;
        for t in health_stream.await.map_err(|e| e.to_string())? {
            let _ = t.await;
        }
        let wall = start.elapsed().as_secs_f64();
        let samples = std::mem::take(&mut *sh.samples.lock().map_err(|e| e.to_string())?);
        println!(
            "\n== saturation: {n} closed-loop workers, decisions back to back for {} s, /health at {}/s",
            sat_dec, args.health
        );
        let (f, t) = report(&samples, wall);
        (fivexx, transport) = (fivexx + f, transport + t);
        println!(
            "fsynced decisions acknowledged: {done} ({:.0}/s)",
            done as f64 / wall
        );
        if let Some(log) = &args.server_log {
            println!(
                "writer: {}",
                writer_log::summary(log, t0, chrono::Utc::now())
            );
        }
    }
    println!("\n5xx: {fivexx}, transport errors: {transport}");
    ok &= fivexx == 0 && transport == 0;

    let touched = sh.touched.lock().map(|t| t.clone()).unwrap_or_default();
    let mut broken = invariants::api_invariants(&args.server, &touched).await?;
    if let Some(db) = &args.db {
        broken.extend(invariants::db_invariants(db, since_ms).await?);
        let acked = sh.acked.lock().map(|a| a.clone()).unwrap_or_default();
        broken.extend(invariants::exactly_once(db, since_ms, &acked).await?);
    }
    if broken.is_empty() {
        println!(
            "invariants: all hold ({} candidates decided)",
            touched.len()
        );
    } else {
        println!("invariants BROKEN ({}):", broken.len());
        for b in broken.iter().take(20) {
            println!("  {b}");
        }
        ok = false;
    }
    Ok(ok)
}
