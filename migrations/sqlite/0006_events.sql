-- The event log: every change the queue's event stream announces, in
-- commit order (`seq`), written in the transaction of the change itself.
-- A console that reconnects with `Last-Event-ID` is sent what it missed
-- from here; the in-process broadcast only wakes the streams up. Pruned to
-- the newest rows (server/store/sqlite/events.rs).
CREATE TABLE events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    district TEXT NOT NULL,
    site     TEXT NOT NULL,
    body     TEXT NOT NULL
);
