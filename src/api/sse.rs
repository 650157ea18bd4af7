//! The `text/event-stream` parser the event-stream reader feeds: bytes
//! in, complete messages out.

/// One server-sent event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseMessage {
    pub event: String,
    pub data: String,
    /// The message's `id` field, if it had one: sent back as
    /// `Last-Event-ID` on reconnection.
    pub id: Option<String>,
}

/// Incremental `text/event-stream` parser: bytes in, complete messages out.
/// Lines may be split across chunks; comments (`:keep-alive`) are ignored.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    event: String,
    data: Vec<String>,
    id: Option<String>,
}

/// A server that never sends a newline must not grow our memory forever.
const MAX_SSE_LINE: usize = 1 << 20;

impl SseParser {
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseMessage> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            if line.is_empty() {
                if !self.data.is_empty() {
                    out.push(SseMessage {
                        event: std::mem::take(&mut self.event),
                        data: self.data.join("\n"),
                        id: self.id.take(),
                    });
                    self.data.clear();
                } else {
                    self.event.clear();
                    self.id = None;
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f.to_string(), v.strip_prefix(' ').unwrap_or(v).to_string()),
                None => (line.clone(), String::new()),
            };
            match field.as_str() {
                "event" => self.event = value,
                "data" => self.data.push(value),
                // The spec ignores ids with a NUL.
                "id" if !value.contains('\0') => self.id = Some(value),
                _ => {}
            }
        }
        if self.buf.len() > MAX_SSE_LINE {
            self.buf.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_split_across_chunks() {
        let mut p = SseParser::default();
        assert!(p.feed(b": keep-alive\n\nevent: cand").is_empty());
        assert!(p.feed(b"idate\ndata: {\"a\":").is_empty());
        let msgs = p.feed(b"1}\nid: 41\r\n\r\ndata: x\ndata: y\n\n");
        assert_eq!(
            msgs,
            vec![
                SseMessage {
                    event: "candidate".into(),
                    data: "{\"a\":1}".into(),
                    id: Some("41".into()),
                },
                SseMessage {
                    event: String::new(),
                    data: "x\ny".into(),
                    id: None,
                }
            ]
        );
    }
}
