//! Opening a candidate and holding it: the first image to review, the
//! claim (held by another, renewed, released), moving to the next and
//! previous candidate, a candidate that is gone.

use chrono::Duration;
use shenhe::api::dto::*;
use shenhe::api::error::ApiError;
use shenhe::app::action::{Action, Effect};
use shenhe::app::fixtures as fx;
use shenhe::app::keys::Command;
use shenhe::app::state::*;
use shenhe::app::update;
use shenhe::lang::Lang;

use super::{cmd, opened, problem};

#[test]
fn opening_goes_to_first_unreviewed_image() {
    let s = opened(Lang::Zh);
    assert_eq!(s.screen, Screen::Candidate);
    let c = s.cand.as_ref().expect("open");
    assert_eq!(c.image, 1, "ID back is the first unreviewed");
    assert!(matches!(c.claim, ClaimState::Mine { .. }));
}

#[test]
fn claim_held_by_someone_else() {
    let mut s = fx::state(Lang::Zh, 120, 40);
    cmd(&mut s, Command::Open);
    let until = fx::now() + Duration::minutes(4);
    let e = ApiError::Problem(Box::new(Problem {
        status: 409,
        code: "claimed".into(),
        held_by: Some("suzhou".into()),
        held_until: Some(until),
        ..Problem::default()
    }));
    update(
        &mut s,
        Action::ClaimDone {
            id: 1,
            result: Err(e),
        },
    );
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::HeldBy {
            who: "suzhou".into(),
            until: Some(until)
        })
    );
    // Leaving does not release what is not ours.
    assert!(!cmd(&mut s, Command::Back).contains(&Effect::Release { id: 1 }));
}

#[test]
fn claim_renewed_while_open_released_on_leave() {
    let mut s = opened(Lang::Zh);
    assert!(
        update(&mut s, Action::Tick(fx::now() + Duration::seconds(30)))
            .iter()
            .all(|e| !matches!(e, Effect::Claim { .. }))
    );
    let effects = update(&mut s, Action::Tick(fx::now() + Duration::seconds(61)));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Claim { id: 1, .. }))
    );
    let effects = cmd(&mut s, Command::Back);
    assert!(effects.contains(&Effect::Release { id: 1 }));
    assert_eq!(s.screen, Screen::Queue);
    // A late claim answer for a candidate we left is given back.
    let effects = update(
        &mut s,
        Action::ClaimDone {
            id: 1,
            result: Ok(None),
        },
    );
    assert_eq!(effects, vec![Effect::Release { id: 1 }]);
}

#[test]
fn next_and_previous_candidate_skip_claimed() {
    let mut s = opened(Lang::Zh);
    let effects = cmd(&mut s, Command::NextCandidate);
    assert!(effects.contains(&Effect::Release { id: 1 }));
    assert_eq!(s.cand.as_ref().map(|c| c.id), Some(3));
    cmd(&mut s, Command::PrevCandidate);
    assert_eq!(s.cand.as_ref().map(|c| c.id), Some(1));
    cmd(&mut s, Command::PrevCandidate);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::QueueStart)
    );
}

#[test]
fn detail_404_returns_to_queue() {
    let mut s = fx::state(Lang::Zh, 80, 24);
    let effects = cmd(&mut s, Command::Open);
    let req = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadCandidate { req, .. } => Some(*req),
            _ => None,
        })
        .expect("load");
    update(
        &mut s,
        Action::DetailDone {
            req,
            id: 1,
            result: Err(problem(404, "not_found")),
        },
    );
    assert_eq!(s.screen, Screen::Queue);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::NotFound)
    );
}
