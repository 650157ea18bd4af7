//! What each command does on the screen below any overlay (queue,
//! candidate, zoom): one dispatcher, plus the pan and back helpers only it
//! uses.

use crate::app::action::Effect;
use crate::app::keys::Command;
use crate::app::state::*;
use crate::domain::review::Level;

use super::candidate::{load_candidate, next_candidate, open_index, release_current};
use super::judge::{lock, open_picker, pass, step_image};
use super::popups::quit;
use super::queue::{move_sel, queue_rows, reload_queue};
use super::session::logout;
use super::undo::undo;
use super::{idem, info, warn};

pub(super) fn command(s: &mut State, c: Command) -> Vec<Effect> {
    let in_cand = matches!(s.screen, Screen::Candidate | Screen::Zoom);
    match c {
        Command::Up | Command::Down if in_cand => {
            if c == Command::Up {
                step_image(s, -1)
            } else {
                step_image(s, 1)
            }
            vec![]
        }
        Command::Up => move_sel(s, -1),
        Command::Down => move_sel(s, 1),
        Command::PageUp => move_sel(s, -(queue_rows(s.size.1) as i64)),
        Command::PageDown => move_sel(s, queue_rows(s.size.1) as i64),
        Command::Top => super::queue::to_start(s),
        Command::Bottom => super::queue::to_end(s),
        Command::Open => {
            let i = s.queue.selected;
            open_index(s, i)
        }
        Command::Back => back(s),
        Command::Quit => quit(s),
        Command::NextTab | Command::PrevTab => {
            let i = Tab::ALL.iter().position(|t| *t == s.queue.tab).unwrap_or(0);
            let n = Tab::ALL.len();
            let j = if c == Command::NextTab {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            s.queue.tab = Tab::ALL[j];
            reload_queue(s)
        }
        Command::NextImage => {
            step_image(s, 1);
            vec![]
        }
        Command::PrevImage => {
            step_image(s, -1);
            vec![]
        }
        Command::Lock => lock(s),
        Command::Unlock => open_picker(s, Command::Unlock),
        Command::Pending => open_picker(s, Command::Pending),
        Command::Reject => open_picker(s, Command::Reject),
        Command::ReturnToSite => {
            if s.level() != Some(Level::District) {
                warn(s, StatusMsg::DistrictOnly);
                return vec![];
            }
            open_picker(s, Command::ReturnToSite)
        }
        Command::Pass => pass(s),
        Command::Undo => undo(s),
        Command::NextCandidate => next_candidate(s, 1),
        Command::PrevCandidate => next_candidate(s, -1),
        Command::Zoom => {
            if s.screen == Screen::Zoom {
                s.screen = Screen::Candidate;
            } else if s.cand.as_ref().and_then(|c| c.current_image()).is_some() {
                s.zoom = ZoomView::FIT;
                s.screen = Screen::Zoom;
            } else {
                warn(s, StatusMsg::NoImages);
            }
            vec![]
        }
        Command::ZoomIn => {
            s.zoom.one_to_one = false;
            s.zoom.zoom = (s.zoom.zoom + 1).min(ZoomView::MAX_ZOOM);
            vec![]
        }
        Command::ZoomOut => {
            s.zoom.one_to_one = false;
            s.zoom.zoom = s.zoom.zoom.saturating_sub(1);
            if s.zoom.zoom == 0 {
                // Back at "fit": the whole image, centred.
                s.zoom.pan_x = 0;
                s.zoom.pan_y = 0;
                s.zoom.region = 0;
            }
            vec![]
        }
        Command::Region1
        | Command::Region2
        | Command::Region3
        | Command::Region4
        | Command::Region5
        | Command::Region6
        | Command::Region7
        | Command::Region8
        | Command::Region9 => {
            // A jump replaces the pans made before it.
            s.zoom.region = c.region().unwrap_or(0);
            s.zoom.pan_x = 0;
            s.zoom.pan_y = 0;
            vec![]
        }
        Command::OneToOne => {
            s.zoom.one_to_one = !s.zoom.one_to_one;
            vec![]
        }
        Command::Rotate => {
            s.zoom.rotation = (s.zoom.rotation + 1) % 4;
            vec![]
        }
        Command::PanLeft => pan(s, -1, 0),
        Command::PanRight => pan(s, 1, 0),
        Command::PanUp => pan(s, 0, -1),
        Command::PanDown => pan(s, 0, 1),
        Command::Export => super::reports::export(s),
        Command::Stats => super::reports::stats(s),
        Command::Search if in_cand => {
            // The search is the queue's: go back to it and search there.
            let fx = release_current(s);
            s.cand = None;
            s.screen = Screen::Queue;
            info(s, StatusMsg::SearchInQueue);
            let mut fx = fx;
            fx.extend(command(s, Command::Search));
            fx
        }
        Command::Search => {
            s.queue.search_before = Some(s.queue.query.clone());
            s.overlay = Some(Overlay::Input(Input {
                kind: InputKind::Search,
                text: s.queue.query.clone(),
                channel: crate::domain::audit::FeedbackChannel::System,
            }));
            vec![]
        }
        Command::ShowBytes => {
            s.show_bytes = !s.show_bytes;
            vec![]
        }
        Command::Palette => {
            s.overlay = Some(Overlay::Input(Input {
                kind: InputKind::Palette,
                text: String::new(),
                channel: crate::domain::audit::FeedbackChannel::System,
            }));
            vec![]
        }
        Command::Help => {
            s.overlay = Some(Overlay::Help { scroll: 0 });
            vec![]
        }
        Command::Reveal => {
            let Some(c) = s.cand.as_mut() else {
                return vec![];
            };
            if c.revealed.take().is_some() {
                // A second press hides the number again.
                return vec![];
            }
            vec![Effect::Reveal {
                id: c.id,
                idem: idem(),
            }]
        }
        Command::Feedback => {
            if s.cand.is_none() {
                return vec![];
            }
            s.overlay = Some(Overlay::Input(Input {
                kind: InputKind::Feedback,
                text: String::new(),
                channel: crate::domain::audit::FeedbackChannel::Phone,
            }));
            vec![]
        }
        Command::History => {
            let Some(c) = s.cand.as_mut() else {
                return vec![];
            };
            c.panel = !c.panel;
            if c.panel {
                vec![Effect::LoadAudit { id: c.id }]
            } else {
                vec![]
            }
        }
        Command::Refresh => {
            let mut fx = reload_queue(s);
            if let Some(id) = s.cand.as_ref().map(|c| c.id) {
                fx.extend(load_candidate(s, id));
            }
            fx
        }
        Command::Logout => {
            let unsent = s.unsent();
            if unsent > 0 {
                s.overlay = Some(Overlay::ConfirmLeave(ConfirmLeave {
                    unsent,
                    durable: s.durable,
                    logout: true,
                }));
                return vec![];
            }
            logout(s)
        }
        Command::Refused => {
            if s.refused.is_empty() {
                info(s, StatusMsg::NoRefused);
            } else {
                s.overlay = Some(Overlay::Refused { cursor: 0 });
            }
            vec![]
        }
    }
}

fn pan(s: &mut State, dx: i16, dy: i16) -> Vec<Effect> {
    // At "fit" there is nothing to pan to.
    if s.zoom.zoom > 0 {
        s.zoom.pan_x = s.zoom.pan_x.saturating_add(dx).clamp(-64, 64);
        s.zoom.pan_y = s.zoom.pan_y.saturating_add(dy).clamp(-64, 64);
    }
    vec![]
}

fn back(s: &mut State) -> Vec<Effect> {
    match s.screen {
        Screen::Zoom => {
            s.screen = Screen::Candidate;
            vec![]
        }
        Screen::Candidate => {
            let fx = release_current(s);
            s.cand = None;
            s.screen = Screen::Queue;
            fx
        }
        Screen::Queue if !s.queue.query.is_empty() => {
            s.queue.query.clear();
            reload_queue(s)
        }
        _ => quit(s),
    }
}
