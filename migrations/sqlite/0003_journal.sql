-- 0003_journal: same tables as migrations/postgres/0003_journal.sql; see the comments there.

-- Who changed what: actor is "admin:<email>", "api", "webhook:mercadopago", "bot:whatsapp", "job:<name>".
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    actor      TEXT   NOT NULL,
    action     TEXT   NOT NULL,               -- e.g. reservation.confirmed, block.created
    entity     TEXT   NOT NULL,               -- reservation, block, accommodation, feed
    entity_id  TEXT   NOT NULL,
    before     TEXT,                          -- JSON, NULL when the entity did not exist
    after      TEXT                           -- JSON, NULL when it was deleted
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, id);

-- Messages to deliver (email, WhatsApp, MercadoPago preference creation). A delivery worker claims due
-- rows (FOR UPDATE SKIP LOCKED), sends, and retries with backoff until sent or dead.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    channel          TEXT    NOT NULL,        -- email, whatsapp, mercadopago
    template         TEXT    NOT NULL,        -- hold_created, booking_confirmed, ...
    recipient        TEXT    NOT NULL DEFAULT '',  -- address, phone, "owner" (OWNER_EMAIL at delivery)
    reservation_code TEXT,
    payload          TEXT    NOT NULL DEFAULT '{}', -- JSON slots beyond the reservation's own fields
    dedupe_key       TEXT    UNIQUE,          -- the same event never makes two messages
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sending', 'sent', 'dead', 'skipped')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER  NOT NULL,
    locked_until     INTEGER,
    last_error       TEXT,
    provider_id      TEXT,                    -- the id the provider gave the message (wamid, Message-ID)
    created_at       INTEGER  NOT NULL,
    updated_at       INTEGER  NOT NULL,
    sent_at          INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_reservation ON outbox (reservation_code);

-- The guest's MercadoPago Checkout link for the deposit (NULL until the preference exists).
ALTER TABLE reservations ADD COLUMN payment_url TEXT;
