-- Image bytes live in the blob store (server/blobs.rs); the database keeps
-- each blob's hash and format only.
ALTER TABLE blobs DROP COLUMN bytes;

-- The event log (see migrations/sqlite/0006): every change the event
-- stream announces, appended in the transaction that made it. `seq` is
-- taken at insert and visible at commit, which under concurrent
-- transactions need not be in order: the streams wait briefly for a
-- missing number (server/stream.rs). After each append, NOTIFY
-- shenhe_events carries the number to every instance's listener.
CREATE TABLE events (
    seq      BIGSERIAL PRIMARY KEY,
    district TEXT NOT NULL,
    site     TEXT NOT NULL,
    body     TEXT NOT NULL
);

-- Failed logins per (account, address): the rate limit holds across
-- instances.
CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);
CREATE INDEX login_failures_at ON login_failures (at);
