-- The reference server's schema. Times are INTEGER milliseconds since the
-- Unix epoch (UTC); lists of reason codes are JSON arrays of strings.

CREATE TABLE reviewers (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    level         TEXT NOT NULL CHECK (level IN ('site', 'district')),
    district      TEXT NOT NULL,
    site          TEXT,
    password_hash TEXT NOT NULL,
    CHECK ((level = 'site') = (site IS NOT NULL))
);

CREATE TABLE candidates (
    id                  INTEGER PRIMARY KEY,
    reg_no              TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    id_type             TEXT NOT NULL,
    id_number           TEXT NOT NULL,
    gender              TEXT NOT NULL,
    birth_date          TEXT NOT NULL,
    exam_category       TEXT NOT NULL,
    district            TEXT NOT NULL,
    site                TEXT NOT NULL,
    education           TEXT NOT NULL,
    school              TEXT NOT NULL,
    major               TEXT NOT NULL,
    graduation_date     TEXT,
    trial_institution   TEXT,
    phone               TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    -- Latest submission; NULL before the first.
    submitted_at        INTEGER,
    -- Queue order: submitted_at once submitted, created_at before.
    sort_at             INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    version             INTEGER NOT NULL DEFAULT 1,
    site_state          TEXT NOT NULL,
    site_reasons        TEXT NOT NULL DEFAULT '[]',
    site_note           TEXT,
    site_reviewer       TEXT,
    site_decided_at     INTEGER,
    district_state      TEXT NOT NULL,
    district_reasons    TEXT NOT NULL DEFAULT '[]',
    district_note       TEXT,
    district_reviewer   TEXT,
    district_decided_at INTEGER,
    claim_reviewer      TEXT,
    claim_expires_at    INTEGER
);
-- The two queues: keyset pagination over (sort_at, id) within a scope and
-- state, and the unfiltered queues in the same order. District leads every
-- index: it is in every scope filter.
CREATE INDEX candidates_site_queue ON candidates (district, site, site_state, sort_at, id);
CREATE INDEX candidates_site_all ON candidates (district, site, sort_at, id);
CREATE INDEX candidates_district_queue ON candidates (district, district_state, sort_at, id);
CREATE INDEX candidates_district_all ON candidates (district, sort_at, id);
-- The queue counts: covered, so counting a scope reads only this index.
CREATE INDEX candidates_counts ON candidates (district, site, site_state, district_state);

-- Image bytes, content-addressed: the same file uploaded twice is stored once.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    format TEXT NOT NULL,
    bytes  BLOB NOT NULL
);

CREATE TABLE images (
    id            INTEGER PRIMARY KEY,
    candidate_id  INTEGER NOT NULL REFERENCES candidates (id),
    category      TEXT NOT NULL,
    slot          INTEGER NOT NULL,
    generation    INTEGER NOT NULL DEFAULT 1,
    format        TEXT NOT NULL,
    bytes         INTEGER NOT NULL,
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    sha256        TEXT NOT NULL REFERENCES blobs (sha256),
    uploaded_at   INTEGER NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    phase         TEXT NOT NULL CHECK (phase IN ('draft', 'submitted', 'accepted', 'replace_requested')),
    was_accepted  INTEGER NOT NULL DEFAULT 0,
    replaced      INTEGER NOT NULL DEFAULT 0,
    reasons       TEXT NOT NULL DEFAULT '[]',
    note          TEXT,
    -- Quality hints, computed once at upload.
    orientation   INTEGER NOT NULL DEFAULT 1,
    not_upright   INTEGER NOT NULL DEFAULT 0,
    blur_score    REAL NOT NULL DEFAULT 1.0,
    blurry        INTEGER NOT NULL DEFAULT 0,
    too_small     INTEGER NOT NULL DEFAULT 0,
    phash         INTEGER NOT NULL DEFAULT 0,
    -- JSON [{"image_id": n, "distance": d}] of other candidates' images.
    duplicate_of  TEXT NOT NULL DEFAULT '[]',
    near_dup_of   TEXT NOT NULL DEFAULT '[]',
    flagged       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (candidate_id, category, slot)
);
CREATE INDEX images_sha256 ON images (sha256);

CREATE TABLE feedback (
    id           INTEGER PRIMARY KEY,
    candidate_id INTEGER NOT NULL REFERENCES candidates (id),
    channel      TEXT NOT NULL CHECK (channel IN ('system', 'sms', 'phone')),
    body         TEXT NOT NULL,
    author       TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX feedback_candidate ON feedback (candidate_id, id);

CREATE TABLE audit (
    id              INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL,
    candidate_id    INTEGER NOT NULL REFERENCES candidates (id),
    before          TEXT NOT NULL DEFAULT 'null',
    after           TEXT NOT NULL DEFAULT 'null',
    reasons         TEXT NOT NULL DEFAULT '[]',
    note            TEXT,
    idempotency_key TEXT,
    undoes          INTEGER REFERENCES audit (id)
);
CREATE INDEX audit_candidate ON audit (candidate_id, id);
CREATE INDEX audit_target ON audit (target, id);
CREATE UNIQUE INDEX audit_undoes ON audit (undoes) WHERE undoes IS NOT NULL;

-- Append-only: an undo is a new compensating event, never an edit.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- Bearer tokens, stored only as their SHA-256.
CREATE TABLE tokens (
    token_hash  TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('reviewer', 'candidate')),
    subject_id  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0
);

-- Responses of mutating calls by (actor, Idempotency-Key), for replays.
CREATE TABLE idempotency (
    actor        TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status       INTEGER NOT NULL,
    content_type TEXT,
    body         BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (actor, key)
);
