-- The queue page without per-row work (issue 14): its badges are columns
-- of the candidate row, its counts a table kept by triggers in the same
-- transaction as the change, and every tab reads an index in its own order.

-- Badges: images in the dossier and those with a quality hint. Triggers
-- keep them, so every write path (and the seed) agrees without thinking.
ALTER TABLE candidates ADD COLUMN image_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE candidates ADD COLUMN flagged_count INTEGER NOT NULL DEFAULT 0;
UPDATE candidates SET
    image_count = (SELECT COUNT(*) FROM images i WHERE i.candidate_id = candidates.id),
    flagged_count = (SELECT COALESCE(SUM(i.flagged <> 0), 0) FROM images i
                     WHERE i.candidate_id = candidates.id);

CREATE TRIGGER images_badges_insert AFTER INSERT ON images
BEGIN
    UPDATE candidates SET image_count = image_count + 1,
        flagged_count = flagged_count + (NEW.flagged <> 0)
    WHERE id = NEW.candidate_id;
END;
CREATE TRIGGER images_badges_delete AFTER DELETE ON images
BEGIN
    UPDATE candidates SET image_count = image_count - 1,
        flagged_count = flagged_count - (OLD.flagged <> 0)
    WHERE id = OLD.candidate_id;
END;
CREATE TRIGGER images_badges_update AFTER UPDATE OF flagged, candidate_id ON images
WHEN (OLD.flagged <> 0) IS NOT (NEW.flagged <> 0) OR OLD.candidate_id IS NOT NEW.candidate_id
BEGIN
    UPDATE candidates SET image_count = image_count - 1,
        flagged_count = flagged_count - (OLD.flagged <> 0)
    WHERE id = OLD.candidate_id;
    UPDATE candidates SET image_count = image_count + 1,
        flagged_count = flagged_count + (NEW.flagged <> 0)
    WHERE id = NEW.candidate_id;
END;

-- Counts per scope and state pair: a site's counts are its rows, a
-- district's the sum over its sites (a few dozen rows either way).
CREATE TABLE queue_counts (
    district       TEXT NOT NULL,
    site           TEXT NOT NULL,
    site_state     TEXT NOT NULL,
    district_state TEXT NOT NULL,
    n              INTEGER NOT NULL,
    PRIMARY KEY (district, site, site_state, district_state)
) WITHOUT ROWID;
INSERT INTO queue_counts (district, site, site_state, district_state, n)
    SELECT district, site, site_state, district_state, COUNT(*) FROM candidates
    GROUP BY district, site, site_state, district_state;

CREATE TRIGGER candidates_counts_insert AFTER INSERT ON candidates
BEGIN
    INSERT INTO queue_counts (district, site, site_state, district_state, n)
    VALUES (NEW.district, NEW.site, NEW.site_state, NEW.district_state, 1)
    ON CONFLICT (district, site, site_state, district_state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER candidates_counts_delete AFTER DELETE ON candidates
BEGIN
    UPDATE queue_counts SET n = n - 1
    WHERE district = OLD.district AND site = OLD.site AND site_state = OLD.site_state
      AND district_state = OLD.district_state;
END;
CREATE TRIGGER candidates_counts_update
AFTER UPDATE OF district, site, site_state, district_state ON candidates
WHEN OLD.district IS NOT NEW.district OR OLD.site IS NOT NEW.site
  OR OLD.site_state IS NOT NEW.site_state OR OLD.district_state IS NOT NEW.district_state
BEGIN
    UPDATE queue_counts SET n = n - 1
    WHERE district = OLD.district AND site = OLD.site AND site_state = OLD.site_state
      AND district_state = OLD.district_state;
    INSERT INTO queue_counts (district, site, site_state, district_state, n)
    VALUES (NEW.district, NEW.site, NEW.site_state, NEW.district_state, 1)
    ON CONFLICT (district, site, site_state, district_state) DO UPDATE SET n = n + 1;
END;

-- Counting no longer reads candidates.
DROP INDEX candidates_counts;

-- The two tabs whose filter the older indexes did not match: the district's
-- whole queue (what the site passed or returned) and the site's returned
-- tab. Partial, so each reads only its own rows, already in order.
CREATE INDEX candidates_district_seen ON candidates (district, sort_at, id)
    WHERE district_state <> 'not_started';
CREATE INDEX candidates_site_returned ON candidates (district, site, sort_at, id)
    WHERE site_state = 'awaiting_review' AND district_state = 'returned';
-- candidates_district_all (district, sort_at, id) served only that tab.
DROP INDEX candidates_district_all;
