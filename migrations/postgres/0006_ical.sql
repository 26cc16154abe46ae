-- 0006: calendar sync (iCal feeds from Airbnb, Booking.com and owners' calendars).
--
-- An imported event is one row of ical_events per (feed, UID). The nights it blocks are ordinary blocks
-- (blocks.ical_event_id points back at it), each with its claim in stay_claims, so the no-overlap guarantee
-- of 0002 covers imported nights exactly as it covers manual blocks; nothing here writes around it.
-- An event that overlaps one of our holds or bookings is a double booking across channels: the nights our
-- stay covers stay ours, the rest are blocked, and the overlap is recorded in ical_conflicts, which holds no
-- claim (it is outside the guarantee on purpose: it describes a clash, it does not occupy nights).
-- Deleting a feed deletes its events, their blocks (and claims, ON DELETE CASCADE) and their conflicts.

CREATE TABLE ical_feeds (
    id               bigserial PRIMARY KEY,
    accommodation_id bigint NOT NULL REFERENCES accommodations (id),
    name             text NOT NULL,
    url              text NOT NULL,
    created_at       bigint NOT NULL,
    last_sync_at     bigint,
    last_success_at  bigint,
    last_status      text NOT NULL DEFAULT 'pending'
                     CHECK (last_status IN ('pending', 'ok', 'not_modified', 'failed')),
    last_error       text,
    event_count      integer NOT NULL DEFAULT 0,
    quarantined      integer NOT NULL DEFAULT 0,
    quarantine       text NOT NULL DEFAULT '[]', -- JSON: the first quarantined events, with reasons
    etag             text,
    last_modified    text,
    failures         integer NOT NULL DEFAULT 0, -- consecutive failed syncs (backoff)
    next_attempt_at  bigint NOT NULL DEFAULT 0,
    UNIQUE (accommodation_id, url)
);

CREATE TABLE ical_events (
    id         bigserial PRIMARY KEY,
    feed_id    bigint NOT NULL REFERENCES ical_feeds (id) ON DELETE CASCADE,
    uid        text NOT NULL,
    start_date date NOT NULL,
    end_date   date NOT NULL,
    summary    text NOT NULL DEFAULT '',
    updated_at bigint NOT NULL,
    UNIQUE (feed_id, uid),
    CHECK (end_date > start_date)
);

ALTER TABLE blocks ADD COLUMN ical_event_id bigint REFERENCES ical_events (id) ON DELETE CASCADE;
CREATE INDEX blocks_ical_event ON blocks (ical_event_id);

CREATE TABLE ical_conflicts (
    id             bigserial PRIMARY KEY,
    event_id       bigint NOT NULL REFERENCES ical_events (id) ON DELETE CASCADE,
    reservation_id bigint NOT NULL REFERENCES reservations (id),
    start_date     date NOT NULL, -- the shared nights
    end_date       date NOT NULL,
    detected_at    bigint NOT NULL,
    UNIQUE (event_id, reservation_id),
    CHECK (end_date > start_date)
);
CREATE INDEX ical_conflicts_reservation ON ical_conflicts (reservation_id);
