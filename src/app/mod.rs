//! The console's logic, Elm-style: [`state::State`], [`action::Action`],
//! a pure [`update::update`] that returns [`action::Effect`]s, and
//! [`effects`], the only place that spawns tasks. No terminal, no HTTP
//! types here.

pub mod action;
pub mod effects;
pub mod fixtures;
pub mod keys;
pub mod liveness;
pub mod state;
pub mod update;

pub use action::{Action, Effect, JournalOp, OpOk};
pub use state::State;
pub use update::{start, update};
