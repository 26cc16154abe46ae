-- 0006: calendar sync. Same tables as migrations/postgres/0006_ical.sql; see the comments there.
-- Foreign keys (and their ON DELETE CASCADE) are enforced: every connection sets PRAGMA foreign_keys=ON.

CREATE TABLE ical_feeds (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    accommodation_id INTEGER NOT NULL REFERENCES accommodations (id),
    name             TEXT NOT NULL,
    url              TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    last_sync_at     INTEGER,
    last_success_at  INTEGER,
    last_status      TEXT NOT NULL DEFAULT 'pending'
                     CHECK (last_status IN ('pending', 'ok', 'not_modified', 'failed')),
    last_error       TEXT,
    event_count      INTEGER NOT NULL DEFAULT 0,
    quarantined      INTEGER NOT NULL DEFAULT 0,
    quarantine       TEXT NOT NULL DEFAULT '[]',
    etag             TEXT,
    last_modified    TEXT,
    failures         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (accommodation_id, url)
);

CREATE TABLE ical_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    feed_id    INTEGER NOT NULL REFERENCES ical_feeds (id) ON DELETE CASCADE,
    uid        TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date   TEXT NOT NULL,
    summary    TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    UNIQUE (feed_id, uid),
    CHECK (end_date > start_date)
);

ALTER TABLE blocks ADD COLUMN ical_event_id INTEGER REFERENCES ical_events (id) ON DELETE CASCADE;
CREATE INDEX blocks_ical_event ON blocks (ical_event_id);

CREATE TABLE ical_conflicts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id       INTEGER NOT NULL REFERENCES ical_events (id) ON DELETE CASCADE,
    reservation_id INTEGER NOT NULL REFERENCES reservations (id),
    start_date     TEXT NOT NULL,
    end_date       TEXT NOT NULL,
    detected_at    INTEGER NOT NULL,
    UNIQUE (event_id, reservation_id),
    CHECK (end_date > start_date)
);
CREATE INDEX ical_conflicts_reservation ON ical_conflicts (reservation_id);
