//! Backoff for retries: exponential with full jitter (a random wait between
//! zero and the exponential ceiling), so consoles that lost the server at the
//! same moment do not all come back at the same moment.

use std::time::Duration;

/// The outbox's schedule: 2 s, 4 s, 8 s … ceilings, never above 30 s.
pub const OUTBOX_BASE: Duration = Duration::from_secs(1);
pub const OUTBOX_CAP: Duration = Duration::from_secs(30);

/// The ceiling after the `attempt`-th failure (1-based): `base·2^attempt`,
/// at most `cap`.
pub fn ceiling(base: Duration, cap: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1u32 << attempt.min(20)).min(cap)
}

/// Full jitter: `unit` (uniform in [0, 1)) scales the ceiling.
pub fn full_jitter(base: Duration, cap: Duration, attempt: u32, unit: f64) -> Duration {
    ceiling(base, cap, attempt).mul_f64(unit.clamp(0.0, 1.0))
}

/// A uniform-looking number in [0, 1) from an op's idempotency key and the
/// attempt: `update` stays pure (no random source), and since keys are
/// random UUIDs, two consoles still spread out.
pub fn unit_from_key(key: &str, attempt: u32) -> f64 {
    // FNV-1a, then a final avalanche so nearby attempts differ a lot.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes().chain(attempt.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    // 53 bits: exactly representable, strictly below 1.
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_then_cap() {
        let c = |a| ceiling(OUTBOX_BASE, OUTBOX_CAP, a).as_secs();
        assert_eq!([c(1), c(2), c(3), c(4), c(5), c(40)], [2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn jitter_stays_within_bounds_and_spreads() {
        let mut below_half = 0;
        for i in 0..2000u32 {
            let key = format!("00000000-0000-4000-8000-{i:012}");
            let u = unit_from_key(&key, 3);
            assert!((0.0..1.0).contains(&u));
            let d = full_jitter(OUTBOX_BASE, OUTBOX_CAP, 3, u);
            assert!(d <= Duration::from_secs(8));
            if u < 0.5 {
                below_half += 1;
            }
        }
        // Roughly uniform: not all early, not all late.
        assert!((800..1200).contains(&below_half), "{below_half}");
    }
}
