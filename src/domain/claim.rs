//! Claims: a reviewer who opens a candidate holds it for a few minutes.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Long enough to look at every image of a candidate; renewed while open.
pub const CLAIM_TTL: Duration = Duration::minutes(5);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub reviewer: String,
    pub expires_at: DateTime<Utc>,
}

impl Claim {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The reviewer holds the candidate until the new expiry.
    Granted(Claim),
    /// Someone else holds it.
    HeldBy(Claim),
}

/// Claim or renew. An expired claim is as good as none.
pub fn claim(current: Option<&Claim>, reviewer: &str, now: DateTime<Utc>) -> ClaimOutcome {
    match current {
        Some(c) if c.is_live(now) && c.reviewer != reviewer => ClaimOutcome::HeldBy(c.clone()),
        _ => ClaimOutcome::Granted(Claim {
            reviewer: reviewer.to_string(),
            expires_at: now + CLAIM_TTL,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims() {
        let now = Utc::now();
        let ClaimOutcome::Granted(mine) = claim(None, "nanjing", now) else {
            panic!("no claim")
        };
        assert!(matches!(
            claim(Some(&mine), "suzhou", now),
            ClaimOutcome::HeldBy(c) if c.reviewer == "nanjing"
        ));
        assert!(matches!(
            claim(Some(&mine), "nanjing", now + Duration::minutes(1)),
            ClaimOutcome::Granted(c) if c.expires_at > mine.expires_at
        ));
        assert!(matches!(
            claim(Some(&mine), "suzhou", now + CLAIM_TTL + Duration::seconds(1)),
            ClaimOutcome::Granted(c) if c.reviewer == "suzhou"
        ));
    }
}
