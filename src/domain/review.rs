//! The candidate review state machine, per level (site 考点, district 考区).

use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    PartialOrd,
    Ord,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Site,
    District,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Site => "site",
            Level::District => "district",
        }
    }
}

/// The state of one level's review. `NotStarted` means the level has nothing
/// to review yet (the candidate has not submitted; the site has not passed).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    PartialOrd,
    Ord,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    NotStarted,
    AwaitingReview,
    Passed,
    Pending,
    Rejected,
    /// District only: sent back to the site.
    Returned,
}

impl ReviewStatus {
    pub const ALL: [ReviewStatus; 6] = [
        ReviewStatus::NotStarted,
        ReviewStatus::AwaitingReview,
        ReviewStatus::Passed,
        ReviewStatus::Pending,
        ReviewStatus::Rejected,
        ReviewStatus::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::NotStarted => "not_started",
            ReviewStatus::AwaitingReview => "awaiting_review",
            ReviewStatus::Passed => "passed",
            ReviewStatus::Pending => "pending",
            ReviewStatus::Rejected => "rejected",
            ReviewStatus::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<ReviewStatus> {
        ReviewStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The words reviewers and candidates know.
    pub fn zh(self) -> &'static str {
        match self {
            ReviewStatus::NotStarted => "未提交",
            ReviewStatus::AwaitingReview => "待审核",
            ReviewStatus::Passed => "审核通过",
            ReviewStatus::Pending => "审核待定",
            ReviewStatus::Rejected => "审核不通过",
            ReviewStatus::Returned => "退回考点",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            ReviewStatus::NotStarted => "not submitted",
            ReviewStatus::AwaitingReview => "awaiting review",
            ReviewStatus::Passed => "passed",
            ReviewStatus::Pending => "pending",
            ReviewStatus::Rejected => "rejected",
            ReviewStatus::Returned => "returned to site",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Pass,
    Pending,
    Reject,
    /// District only: send the candidate back to the site.
    Return,
}

impl Decision {
    pub const ALL: [Decision; 4] = [
        Decision::Pass,
        Decision::Pending,
        Decision::Reject,
        Decision::Return,
    ];

    /// Whether the decision must carry reasons.
    pub fn needs_reasons(self) -> bool {
        !matches!(self, Decision::Pass)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Pass => "pass",
            Decision::Pending => "pending",
            Decision::Reject => "reject",
            Decision::Return => "return",
        }
    }
}

/// Both levels' states of one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reviews {
    pub site: ReviewStatus,
    pub district: ReviewStatus,
}

impl Reviews {
    pub const DRAFT: Reviews = Reviews {
        site: ReviewStatus::NotStarted,
        district: ReviewStatus::NotStarted,
    };

    pub fn at(self, level: Level) -> ReviewStatus {
        match level {
            Level::Site => self.site,
            Level::District => self.district,
        }
    }

    /// The level whose turn it is, if any.
    pub fn active_level(self) -> Option<Level> {
        match (self.site, self.district) {
            (ReviewStatus::AwaitingReview | ReviewStatus::Pending, _) => Some(Level::Site),
            (ReviewStatus::Passed, ReviewStatus::AwaitingReview | ReviewStatus::Pending) => {
                Some(Level::District)
            }
            _ => None,
        }
    }

    /// The candidate may upload, replace and delete unlocked images: before
    /// the first submission, or while the active level has set 审核待定.
    pub fn candidate_may_edit(self) -> bool {
        matches!(
            (self.site, self.district),
            (ReviewStatus::NotStarted | ReviewStatus::Pending, _)
                | (ReviewStatus::Passed, ReviewStatus::Pending)
        )
    }

    /// A reviewer at `level` may lock and unlock images now.
    pub fn reviewer_may_judge_images(self, level: Level) -> bool {
        self.active_level() == Some(level)
    }

    /// What the candidate sees as the overall result.
    pub fn candidate_status(self) -> ReviewStatus {
        match (self.site, self.district) {
            (ReviewStatus::Passed, d) if d != ReviewStatus::NotStarted => {
                if d == ReviewStatus::Returned {
                    ReviewStatus::AwaitingReview
                } else {
                    d
                }
            }
            (ReviewStatus::Passed, _) => ReviewStatus::AwaitingReview,
            (s, _) => s,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReviewEvent {
    /// The candidate submits (first time, or after 审核待定).
    Submit,
    Decide(Level, Decision),
    /// Take back a pass while the next level has not acted.
    Revoke(Level),
}

impl ReviewEvent {
    pub fn all() -> Vec<ReviewEvent> {
        let mut v = vec![ReviewEvent::Submit];
        for l in [Level::Site, Level::District] {
            for d in Decision::ALL {
                v.push(ReviewEvent::Decide(l, d));
            }
            v.push(ReviewEvent::Revoke(l));
        }
        v
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReviewTransitionError {
    #[error("the candidate has not submitted yet")]
    NotSubmitted,
    #[error("there is nothing to resubmit")]
    NothingToSubmit,
    #[error("the candidate is rejected; the decision is final")]
    Final,
    #[error("this level has already passed the candidate; revoke the pass first")]
    AlreadyPassed,
    #[error("the district reviews only after the site has passed the candidate")]
    NotYetAtDistrict,
    #[error("the candidate is with the district now")]
    WithDistrict,
    #[error("only the district can return a candidate to the site")]
    ReturnOnlyAtDistrict,
    #[error("the candidate has been returned to the site")]
    ReturnedToSite,
    #[error("only a pass can be revoked")]
    NotPassed,
    #[error("the district has already acted on this candidate")]
    NextLevelActed,
}

/// The table. Every (state, event) pair has a result or a typed error.
pub fn transition(r: Reviews, event: ReviewEvent) -> Result<Reviews, ReviewTransitionError> {
    use Decision as D;
    use Level as L;
    use ReviewEvent as E;
    use ReviewStatus as S;
    use ReviewTransitionError as Err;

    let any_rejected = r.site == S::Rejected || r.district == S::Rejected;
    match event {
        E::Submit => match (r.site, r.district) {
            _ if any_rejected => Result::Err(Err::Final),
            (S::NotStarted | S::Pending, _) => Ok(Reviews {
                site: S::AwaitingReview,
                ..r
            }),
            (S::Passed, S::Pending) => Ok(Reviews {
                district: S::AwaitingReview,
                ..r
            }),
            _ => Result::Err(Err::NothingToSubmit),
        },
        E::Decide(L::Site, d) => {
            match r.site {
                S::Rejected => return Result::Err(Err::Final),
                S::NotStarted => return Result::Err(Err::NotSubmitted),
                S::Passed if r.district == S::AwaitingReview => {
                    return Result::Err(Err::AlreadyPassed);
                }
                S::Passed => return Result::Err(Err::WithDistrict),
                S::Returned => return Result::Err(Err::ReturnedToSite),
                S::AwaitingReview | S::Pending => {}
            }
            if r.district == S::Rejected {
                return Result::Err(Err::Final);
            }
            match d {
                D::Pass => Ok(Reviews {
                    site: S::Passed,
                    district: S::AwaitingReview,
                }),
                D::Pending => Ok(Reviews {
                    site: S::Pending,
                    ..r
                }),
                D::Reject => Ok(Reviews {
                    site: S::Rejected,
                    ..r
                }),
                D::Return => Result::Err(Err::ReturnOnlyAtDistrict),
            }
        }
        E::Decide(L::District, d) => {
            if any_rejected {
                return Result::Err(Err::Final);
            }
            if r.site != S::Passed {
                return Result::Err(if r.district == S::Returned {
                    Err::ReturnedToSite
                } else {
                    Err::NotYetAtDistrict
                });
            }
            match r.district {
                S::AwaitingReview | S::Pending => {}
                S::Passed => return Result::Err(Err::AlreadyPassed),
                // Site passed always activates the district; these cannot
                // co-occur with site Passed, but the table stays total.
                S::NotStarted | S::Returned => return Result::Err(Err::NotYetAtDistrict),
                S::Rejected => return Result::Err(Err::Final),
            }
            Ok(match d {
                D::Pass => Reviews {
                    district: S::Passed,
                    ..r
                },
                D::Pending => Reviews {
                    district: S::Pending,
                    ..r
                },
                D::Reject => Reviews {
                    district: S::Rejected,
                    ..r
                },
                D::Return => Reviews {
                    site: S::AwaitingReview,
                    district: S::Returned,
                },
            })
        }
        E::Revoke(L::Site) => match (r.site, r.district) {
            (S::Passed, S::AwaitingReview) => Ok(Reviews {
                site: S::AwaitingReview,
                district: S::NotStarted,
            }),
            (S::Passed, _) => Result::Err(Err::NextLevelActed),
            _ => Result::Err(Err::NotPassed),
        },
        E::Revoke(L::District) => match r.district {
            S::Passed => Ok(Reviews {
                district: S::AwaitingReview,
                ..r
            }),
            _ => Result::Err(Err::NotPassed),
        },
    }
}

/// Every state reachable from a fresh candidate (for exhaustive tests and
/// property tests).
pub fn reachable() -> Vec<Reviews> {
    let mut seen = vec![Reviews::DRAFT];
    let mut i = 0;
    while i < seen.len() {
        let r = seen[i];
        for e in ReviewEvent::all() {
            if let Ok(next) = transition(r, e)
                && !seen.contains(&next)
            {
                seen.push(next);
            }
        }
        i += 1;
    }
    seen
}

/// Consistency of the two levels, true for every reachable state.
pub fn consistent(r: Reviews) -> bool {
    use ReviewStatus as S;
    let district_ok = match r.district {
        S::NotStarted => r.site != S::Passed,
        S::Returned => r.site != S::Passed,
        S::AwaitingReview | S::Pending | S::Passed | S::Rejected => r.site == S::Passed,
    };
    district_ok && r.site != S::Returned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_over_reachable_states() {
        let states = reachable();
        let mut lines = Vec::new();
        for r in &states {
            assert!(consistent(*r), "{r:?}");
            for e in ReviewEvent::all() {
                let out = transition(*r, e);
                if let Ok(next) = out {
                    assert!(consistent(next), "{r:?} + {e:?} -> {next:?}");
                }
                lines.push(format!(
                    "{}/{} + {e:?} => {}",
                    r.site.as_str(),
                    r.district.as_str(),
                    match out {
                        Ok(n) => format!("{}/{}", n.site.as_str(), n.district.as_str()),
                        Err(e) => format!("Err({e:?})"),
                    }
                ));
            }
        }
        insta::assert_snapshot!(lines.join("\n"));
    }

    #[test]
    fn total_over_every_pair() {
        // Even states that cannot be reached give a result, never a panic.
        for s in ReviewStatus::ALL {
            for d in ReviewStatus::ALL {
                for e in ReviewEvent::all() {
                    let _ = transition(
                        Reviews {
                            site: s,
                            district: d,
                        },
                        e,
                    );
                }
            }
        }
    }

    #[test]
    fn the_seed_workflow() {
        use Decision::*;
        use ReviewEvent::*;
        let mut r = Reviews::DRAFT;
        for e in [
            Submit,
            Decide(Level::Site, Pending),
            Submit,
            Decide(Level::Site, Pass),
            Decide(Level::District, Pass),
        ] {
            r = transition(r, e).expect("step");
        }
        assert_eq!(r.candidate_status(), ReviewStatus::Passed);
        assert_eq!(
            transition(r, Decide(Level::Site, Reject)),
            Err(ReviewTransitionError::WithDistrict)
        );
    }

    #[test]
    fn rejected_is_final() {
        for r in reachable() {
            if r.site == ReviewStatus::Rejected || r.district == ReviewStatus::Rejected {
                for e in ReviewEvent::all() {
                    assert!(transition(r, e).is_err(), "{r:?} {e:?}");
                }
                assert!(!r.candidate_may_edit());
            }
        }
    }

    #[test]
    fn district_return_reopens_site() {
        let r = Reviews {
            site: ReviewStatus::Passed,
            district: ReviewStatus::AwaitingReview,
        };
        let back =
            transition(r, ReviewEvent::Decide(Level::District, Decision::Return)).expect("return");
        assert_eq!(back.site, ReviewStatus::AwaitingReview);
        assert_eq!(back.active_level(), Some(Level::Site));
        let again =
            transition(back, ReviewEvent::Decide(Level::Site, Decision::Pass)).expect("pass");
        assert_eq!(again.district, ReviewStatus::AwaitingReview);
    }
}
