//! Whether the server is answering, as the header shows it: the event
//! stream is up and has been heard from (the server beats every second)
//! within `api::client::STALE_AFTER`. Pure: time comes from the caller.

use chrono::{DateTime, Duration, Utc};

use super::state::Conn;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Liveness {
    /// The event stream is connected.
    pub stream_up: bool,
    /// When the stream last delivered anything.
    pub heard_at: Option<DateTime<Utc>>,
}

impl Liveness {
    /// Silence longer than this is a server that does not answer.
    pub fn stale_after() -> Duration {
        Duration::from_std(crate::api::client::STALE_AFTER).unwrap_or(Duration::seconds(4))
    }

    pub fn connected(&mut self, now: DateTime<Utc>) {
        self.stream_up = true;
        self.heard_at = Some(now);
    }

    pub fn heard(&mut self, now: DateTime<Utc>) {
        self.heard_at = Some(now);
    }

    pub fn lost(&mut self) {
        self.stream_up = false;
    }

    /// What the header should say at `now`, given what it says (`Unknown`
    /// stays until the stream first connects).
    pub fn conn(&self, was: &Conn, now: DateTime<Utc>) -> Conn {
        let fresh = self
            .heard_at
            .is_some_and(|t| now - t <= Self::stale_after());
        match (was, self.stream_up && fresh) {
            (Conn::Unknown, false) if !self.stream_up => Conn::Unknown,
            (_, true) => Conn::Connected,
            (_, false) => Conn::Reconnecting,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_noticed_and_a_beat_recovers() {
        let t0 = Utc::now();
        let mut l = Liveness::default();
        assert_eq!(l.conn(&Conn::Unknown, t0), Conn::Unknown);
        l.connected(t0);
        assert_eq!(l.conn(&Conn::Unknown, t0), Conn::Connected);
        let later = t0 + Duration::milliseconds(3400);
        assert_eq!(l.conn(&Conn::Connected, later), Conn::Connected);
        let silent = t0 + Duration::seconds(4);
        assert_eq!(l.conn(&Conn::Connected, silent), Conn::Reconnecting);
        l.heard(silent);
        assert_eq!(l.conn(&Conn::Reconnecting, silent), Conn::Connected);
        l.lost();
        assert_eq!(l.conn(&Conn::Connected, silent), Conn::Reconnecting);
    }
}
