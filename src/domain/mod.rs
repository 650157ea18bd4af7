//! Pure domain model: no I/O, nothing else from this crate.

pub mod audit;
pub mod category;
pub mod claim;
pub mod identity;
pub mod image;
pub mod imaging;
pub mod name_key;
pub mod quality;
pub mod reason;
pub mod review;
pub mod rules;
pub mod text;
pub mod undo_window;
