//! The writer's batch sizes during a time window, from the server's log:
//! the per-second `writer batches` lines it writes at debug level
//! (`RUST_LOG=...,shenhe::server::store::sqlite::writer=debug`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// `key=value` fields of a log line; values may be quoted.
fn fields(line: &str) -> BTreeMap<&str, String> {
    let mut out = BTreeMap::new();
    let mut rest = line;
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].rsplit(' ').next().unwrap_or("");
        let after = &rest[eq + 1..];
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (q[..end].to_string(), q.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(' ').unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        out.insert(key, value);
        rest = tail;
    }
    out
}

/// "N batches, M jobs (mean x per batch, max y); sizes 1:a 2-3:b …; commit
/// mean c ms, max d ms" over the lines stamped within [from, to].
pub fn summary(path: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let Ok(text) = std::fs::read_to_string(path) else {
        return format!("(cannot read {path})");
    };
    let (mut batches, mut jobs, mut max, mut commit_sum, mut max_commit) =
        (0u64, 0u64, 0u64, 0.0, 0.0f64);
    let mut sizes: BTreeMap<u64, (String, u64)> = BTreeMap::new();
    for line in text.lines().filter(|l| l.contains("writer batches")) {
        let Some(at) = line
            .split_whitespace()
            .next()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        else {
            continue;
        };
        let at = at.with_timezone(&Utc);
        if at < from || at > to + chrono::Duration::seconds(1) {
            continue;
        }
        let f = fields(line);
        let num = |k: &str| f.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let b = num("batches") as u64;
        batches += b;
        jobs += num("jobs") as u64;
        max = max.max(num("max") as u64);
        commit_sum += num("commit_ms") * b as f64;
        max_commit = max_commit.max(num("max_commit_ms"));
        for class in f
            .get("sizes")
            .map(String::as_str)
            .unwrap_or("")
            .split_whitespace()
        {
            if let Some((range, n)) = class.split_once(':') {
                let lo = range
                    .split('-')
                    .next()
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0);
                let e = sizes.entry(lo).or_insert((range.to_string(), 0));
                e.1 += n.parse::<u64>().unwrap_or(0);
            }
        }
    }
    if batches == 0 {
        return "no writer lines in the log for this step (is writer=debug on?)".into();
    }
    let classes: Vec<String> = sizes.values().map(|(r, n)| format!("{r}:{n}")).collect();
    format!(
        "{batches} batches, {jobs} jobs (mean {:.2} per batch, max {max}); batches by size {}; \
         commit mean {:.2} ms, max {:.1} ms",
        jobs as f64 / batches as f64,
        classes.join(" "),
        commit_sum / batches as f64,
        max_commit
    )
}
