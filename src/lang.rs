//! The language the console speaks to its user (status bar, screens,
//! `shenhe show`'s text and messages).
//!
//! A presentation setting, not a domain rule (the domain's bilingual names
//! are data and take no `Lang`): it lives at the crate root so `config`
//! (reads it), `app` (holds it), `ui` (renders with it) and the commands can
//! all reach it downward.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}
