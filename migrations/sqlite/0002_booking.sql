-- 0002: the booking core. Same tables as migrations/postgres/0002_booking.sql; see the comments there.
-- SQLite has no exclusion constraints: triggers refuse an overlapping claim inside the same write
-- transaction, and SQLite's single writer (every write transaction here is BEGIN IMMEDIATE) makes the
-- check race-free.

CREATE TABLE accommodations (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    name                  TEXT NOT NULL,
    type                  TEXT NOT NULL DEFAULT 'cabin' CHECK (type IN ('cabin', 'apartment', 'house', 'room')),
    capacity              INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 100),
    base_price_cents      INTEGER NOT NULL CHECK (base_price_cents >= 0),
    weekend_multiplier_bp INTEGER NOT NULL DEFAULT 12000 CHECK (weekend_multiplier_bp BETWEEN 1 AND 100000),
    weekend_nights        TEXT NOT NULL DEFAULT 'fri,sat',
    min_nights            INTEGER NOT NULL DEFAULT 1 CHECK (min_nights >= 1),
    max_nights            INTEGER NOT NULL DEFAULT 30 CHECK (max_nights >= min_nights),
    currency              TEXT NOT NULL DEFAULT 'ARS',
    description           TEXT NOT NULL DEFAULT '',
    amenities             TEXT NOT NULL DEFAULT '[]',
    photos                TEXT NOT NULL DEFAULT '[]',
    location              TEXT NOT NULL DEFAULT '',
    policies              TEXT NOT NULL DEFAULT '{}',
    active                INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);

CREATE TABLE reservations (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    code             TEXT NOT NULL UNIQUE,
    accommodation_id INTEGER NOT NULL REFERENCES accommodations (id),
    check_in         TEXT NOT NULL,
    check_out        TEXT NOT NULL,
    guests           INTEGER NOT NULL CHECK (guests >= 1),
    guest_name       TEXT NOT NULL,
    guest_phone      TEXT NOT NULL,
    guest_email      TEXT,
    channel          TEXT NOT NULL DEFAULT 'web',
    status           TEXT NOT NULL CHECK (status IN ('pre_reserved', 'confirmed', 'cancelled', 'expired')),
    payment_status   TEXT NOT NULL DEFAULT 'pending',
    nights           INTEGER NOT NULL,
    total_cents      INTEGER NOT NULL,
    deposit_percent  INTEGER NOT NULL,
    deposit_cents    INTEGER NOT NULL,
    paid_cents       INTEGER NOT NULL DEFAULT 0,
    currency         TEXT NOT NULL DEFAULT 'ARS',
    expires_at       INTEGER,
    confirmed_at     INTEGER,
    cancelled_at     INTEGER,
    cancel_reason    TEXT,
    notes            TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    CHECK (check_out > check_in)
);
CREATE INDEX reservations_status_expires ON reservations (status, expires_at);
CREATE INDEX reservations_accommodation_dates ON reservations (accommodation_id, check_in);
CREATE INDEX reservations_created ON reservations (created_at);

CREATE TABLE blocks (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    accommodation_id INTEGER NOT NULL REFERENCES accommodations (id),
    start_date       TEXT NOT NULL,
    end_date         TEXT NOT NULL,
    reason           TEXT NOT NULL DEFAULT '',
    source           TEXT NOT NULL DEFAULT 'manual',
    created_by       TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    CHECK (end_date > start_date)
);
CREATE INDEX blocks_accommodation ON blocks (accommodation_id, start_date);

CREATE TABLE stay_claims (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    accommodation_id INTEGER NOT NULL REFERENCES accommodations (id),
    check_in         TEXT NOT NULL,
    check_out        TEXT NOT NULL,
    reservation_id   INTEGER UNIQUE REFERENCES reservations (id),
    block_id         INTEGER UNIQUE REFERENCES blocks (id) ON DELETE CASCADE,
    CHECK (check_out > check_in),
    CHECK ((reservation_id IS NULL) <> (block_id IS NULL))
);
CREATE INDEX stay_claims_accommodation ON stay_claims (accommodation_id, check_in);

CREATE TRIGGER stay_claims_no_overlap_insert BEFORE INSERT ON stay_claims
WHEN EXISTS (SELECT 1 FROM stay_claims c
             WHERE c.accommodation_id = NEW.accommodation_id
               AND c.check_in < NEW.check_out AND NEW.check_in < c.check_out)
BEGIN
    SELECT RAISE(ABORT, 'stay_claims_no_overlap');
END;

CREATE TRIGGER stay_claims_no_overlap_update BEFORE UPDATE OF accommodation_id, check_in, check_out ON stay_claims
WHEN EXISTS (SELECT 1 FROM stay_claims c
             WHERE c.id <> NEW.id AND c.accommodation_id = NEW.accommodation_id
               AND c.check_in < NEW.check_out AND NEW.check_in < c.check_out)
BEGIN
    SELECT RAISE(ABORT, 'stay_claims_no_overlap');
END;

-- A stay becoming active must already hold its claim (on insert the claim follows in the same
-- transaction; on release the status changes first and the claim is deleted right after).
CREATE TRIGGER reservations_claim_consistent AFTER UPDATE OF status ON reservations
WHEN NEW.status IN ('pre_reserved', 'confirmed')
     AND NOT EXISTS (SELECT 1 FROM stay_claims c WHERE c.reservation_id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'reservation status and claim disagree');
END;

CREATE TABLE idempotency_keys (
    key         TEXT NOT NULL,
    scope       TEXT NOT NULL,
    body_hash   TEXT NOT NULL,
    status      INTEGER,
    response    TEXT,
    location    TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE admin_users (
    email         TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
