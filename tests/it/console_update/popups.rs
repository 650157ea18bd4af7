//! The palette and the candidate's side tools: revealing the ID number,
//! the feedback form, the history, zoom and the help.

use shenhe::api::dto::*;
use shenhe::app::action::{Action, Effect};
use shenhe::app::keys::{Command, KeyAction, Mode};
use shenhe::app::state::*;
use shenhe::app::update;
use shenhe::lang::Lang;

use super::{cmd, key, opened, sends, typed};

#[test]
fn palette_runs_commands_by_name() {
    let mut s = opened(Lang::Zh);
    cmd(&mut s, Command::Palette);
    typed(&mut s, "zo");
    key(&mut s, KeyAction::NextField);
    let Some(Overlay::Input(i)) = &s.overlay else {
        panic!()
    };
    assert_eq!(i.text, "zoom");
    key(&mut s, KeyAction::Submit);
    assert_eq!(s.screen, Screen::Zoom);
    cmd(&mut s, Command::Palette);
    typed(&mut s, "frobnicate");
    key(&mut s, KeyAction::Submit);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::UnknownCommand("frobnicate".into()))
    );
    cmd(&mut s, Command::Palette);
    typed(&mut s, "next_tab");
    key(&mut s, KeyAction::Submit);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::NotHere("next_tab".into()))
    );
}

#[test]
fn reveal_feedback_history_zoom_help() {
    let mut s = opened(Lang::Zh);
    let effects = cmd(&mut s, Command::Reveal);
    assert!(matches!(
        effects.first(),
        Some(Effect::Reveal { id: 1, .. })
    ));
    update(
        &mut s,
        Action::RevealDone {
            id: 1,
            result: Ok(RevealResponse {
                id_number: "320102199605011234".into(),
                audit_id: 5,
            }),
        },
    );
    assert_eq!(
        s.cand.as_ref().and_then(|c| c.revealed.as_deref()),
        Some("320102199605011234")
    );
    assert!(
        cmd(&mut s, Command::Reveal).is_empty(),
        "a second press hides it"
    );
    assert!(s.cand.as_ref().is_some_and(|c| c.revealed.is_none()));

    cmd(&mut s, Command::Feedback);
    key(&mut s, KeyAction::Submit);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::FeedbackEmpty)
    );
    key(&mut s, KeyAction::NextField); // phone → sms
    typed(&mut s, "已短信通知");
    let ops = sends(&key(&mut s, KeyAction::Submit));
    assert_eq!(
        ops[0].kind,
        OpKind::Feedback {
            channel: shenhe::domain::audit::FeedbackChannel::Sms,
            body: "已短信通知".into()
        }
    );

    let effects = cmd(&mut s, Command::History);
    assert_eq!(effects, vec![Effect::LoadAudit { id: 1 }]);
    update(
        &mut s,
        Action::AuditDone {
            id: 1,
            result: Ok(AuditList { items: vec![] }),
        },
    );
    assert_eq!(s.cand.as_ref().and_then(|c| c.audit.clone()), Some(vec![]));
    assert!(cmd(&mut s, Command::History).is_empty());

    cmd(&mut s, Command::Zoom);
    assert_eq!(s.mode(), Mode::Zoom);
    cmd(&mut s, Command::PanLeft);
    assert_eq!(s.zoom.pan_x, 0, "nothing to pan at fit");
    cmd(&mut s, Command::ZoomIn);
    cmd(&mut s, Command::Rotate);
    cmd(&mut s, Command::PanLeft);
    assert_eq!(s.zoom.zoom, 1);
    assert_eq!(s.zoom.rotation, 1);
    assert_eq!(s.zoom.pan_x, -1);
    // A region jump replaces the pans; 1:1 toggles, and zooming leaves it.
    cmd(&mut s, Command::Region9);
    assert_eq!((s.zoom.region, s.zoom.pan_x), (9, 0));
    cmd(&mut s, Command::PanUp);
    assert_eq!(s.zoom.pan_y, -1);
    cmd(&mut s, Command::OneToOne);
    assert!(s.zoom.one_to_one);
    cmd(&mut s, Command::OneToOne);
    assert!(!s.zoom.one_to_one);
    cmd(&mut s, Command::OneToOne);
    cmd(&mut s, Command::ZoomOut);
    assert!(!s.zoom.one_to_one);
    assert_eq!(
        (s.zoom.zoom, s.zoom.region, s.zoom.pan_y),
        (0, 0, 0),
        "back at fit"
    );
    cmd(&mut s, Command::Back);
    assert_eq!(s.screen, Screen::Candidate);

    cmd(&mut s, Command::Help);
    assert_eq!(s.mode(), Mode::Help);
    key(&mut s, KeyAction::Scroll(3));
    assert_eq!(s.overlay, Some(Overlay::Help { scroll: 3 }));
    key(&mut s, KeyAction::Cancel);
    assert!(s.overlay.is_none());
}
