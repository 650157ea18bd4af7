//! Fuzz properties for shenhe; the targets in `fuzz_targets/` are one-line
//! wrappers around [`checks`].
pub mod checks;
