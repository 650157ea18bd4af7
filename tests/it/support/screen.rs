//! Reading and typing into a console in a pseudo-terminal, shared by the
//! PTY tests (each spawns its console its own way).
#![allow(dead_code)]

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The screen's text as vt100 sees it now.
pub fn text(parser: &Mutex<vt100::Parser>) -> String {
    parser
        .lock()
        .map(|p| p.screen().contents())
        .unwrap_or_default()
}

/// Wait until the screen satisfies `pred`; `patience` only guards against
/// a hang (it is never a speed assertion). Returns the screen text.
pub fn wait_for(
    parser: &Mutex<vt100::Parser>,
    patience: Duration,
    what: &str,
    pred: impl Fn(&str) -> bool,
) -> String {
    let start = Instant::now();
    loop {
        let t = text(parser);
        if pred(&t) {
            return t;
        }
        assert!(
            start.elapsed() < patience,
            "waited for {what}; the screen shows:\n{t}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Type `keys` one at a time, as a person does: each is its own event.
pub fn type_keys(writer: &mut (dyn Write + Send), keys: &str) {
    for k in keys.chars() {
        let mut b = [0u8; 4];
        writer
            .write_all(k.encode_utf8(&mut b).as_bytes())
            .expect("write key");
        writer.flush().expect("flush");
        std::thread::sleep(Duration::from_millis(150));
    }
}
