-- Undo withdraws the system messages the undone event wrote: they stay
-- stored (who was told what, and when, is history) but the candidate no
-- longer sees them.
ALTER TABLE feedback ADD COLUMN withdrawn_by INTEGER REFERENCES audit (id);

-- Events whose undo window has closed for good: their reviewer left the
-- candidate after the window's minutes ('left', recorded when someone
-- claims the candidate anew), or their effect left the system
-- ('exported': a follow-up list was written).
CREATE TABLE final_events (
    audit_id INTEGER PRIMARY KEY REFERENCES audit (id),
    at       INTEGER NOT NULL,
    why      TEXT NOT NULL CHECK (why IN ('left', 'exported'))
);

-- Pinyin initials of the name (谢艳佳 → xyj), for the queue's search;
-- filled by the seed as it writes, and at open for older rows.
ALTER TABLE candidates ADD COLUMN name_initials TEXT;
