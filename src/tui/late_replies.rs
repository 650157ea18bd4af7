//! Terminal answers that arrive after capability detection stopped waiting
//! (a slow SSH link, a terminal that answers late) reach crossterm as keys:
//! `ESC P >|xterm(390) ESC \` becomes Alt-P, `>`, `|`, `x`, … and `x` would
//! open the reason picker. A string reply starts with ESC and one of
//! `P ] _ ^ X` (DCS, OSC, APC, PM, SOS), which crossterm reports as Alt plus
//! that character; everything up to the terminator (ESC `\`, i.e. Alt-`\`,
//! or BEL, i.e. Ctrl-G) is swallowed, as long as it keeps arriving in one
//! burst. CSI replies (DA1, DSR, sizes) crossterm already keeps to itself.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A reply arrives as one burst; a person typing after an Alt-key does not
/// come within this of the previous key.
const BURST_GAP: Duration = Duration::from_millis(50);

/// Longest reply we swallow (XTVERSION and OSC 11 are well under this).
const MAX_REPLY_KEYS: usize = 512;

#[derive(Debug, Default)]
pub struct LateReplies {
    /// Inside a reply: when its last key came, and how many so far.
    inside: Option<(Instant, usize)>,
    /// Replies swallowed whole since the last look (the link probe's
    /// answer is one).
    completed: usize,
}

impl LateReplies {
    /// Whether `k`, arriving at `now`, is part of a terminal reply and must
    /// not be treated as a key.
    pub fn swallow(&mut self, k: &KeyEvent, now: Instant) -> bool {
        if let Some((last, n)) = self.inside {
            if now.duration_since(last) <= BURST_GAP && n < MAX_REPLY_KEYS {
                let ends = matches!(k.code, KeyCode::Char('\\'))
                    && k.modifiers.contains(KeyModifiers::ALT)
                    || matches!(k.code, KeyCode::Char('g' | 'G'))
                        && k.modifiers.contains(KeyModifiers::CONTROL);
                self.inside = (!ends).then_some((now, n + 1));
                if ends {
                    self.completed += 1;
                }
                return true;
            }
            self.inside = None;
        }
        let opens = k.modifiers.contains(KeyModifiers::ALT)
            && matches!(k.code, KeyCode::Char('P' | ']' | '_' | '^' | 'X'));
        if opens {
            self.inside = Some((now, 1));
        }
        opens
    }
}

impl LateReplies {
    /// Whether a reply ended since the last call.
    pub fn take_completed(&mut self) -> bool {
        std::mem::take(&mut self.completed) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn alt(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT)
    }

    #[test]
    fn a_late_xtversion_reply_is_swallowed_whole() {
        let mut f = LateReplies::default();
        let t = Instant::now();
        let ms = |n| t + Duration::from_millis(n);
        // ESC P >| x t e r m ( 3 9 0 ) ESC \   then the reviewer presses a.
        assert!(f.swallow(&alt('P'), ms(0)));
        for (i, c) in ">|xterm(390)".chars().enumerate() {
            assert!(f.swallow(&ch(c), ms(1 + i as u64)), "{c}");
        }
        assert!(f.swallow(&alt('\\'), ms(14)));
        assert!(f.take_completed() && !f.take_completed());
        assert!(!f.swallow(&ch('a'), ms(15)), "a key after the reply counts");
    }

    #[test]
    fn osc_ending_in_bel_and_apc_are_swallowed() {
        let mut f = LateReplies::default();
        let t = Instant::now();
        assert!(f.swallow(&alt(']'), t));
        for c in "11;rgb:0000/0000/0000".chars() {
            assert!(f.swallow(&ch(c), t));
        }
        let bel = KeyEvent::new(KeyCode::Char('g'), KeyModifiers::CONTROL);
        assert!(f.swallow(&bel, t));
        assert!(!f.swallow(&ch('x'), t));
        assert!(f.swallow(&alt('_'), t));
        for c in "Gi=31;OK".chars() {
            assert!(f.swallow(&ch(c), t));
        }
        assert!(f.swallow(&alt('\\'), t));
        assert!(!f.swallow(&ch('n'), t));
    }

    #[test]
    fn keys_typed_by_a_person_pass() {
        let mut f = LateReplies::default();
        let t = Instant::now();
        // Ordinary keys, and a key a moment after an unterminated Alt-P.
        for c in "axpPnNuB?:".chars() {
            assert!(!f.swallow(&ch(c), t));
        }
        assert!(f.swallow(&alt('P'), t));
        assert!(!f.swallow(&ch('x'), t + Duration::from_millis(300)));
        assert!(!f.swallow(&ch('x'), t + Duration::from_millis(310)));
    }
}
