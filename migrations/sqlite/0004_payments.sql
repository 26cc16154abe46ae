-- 0004_payments: same tables as migrations/postgres/0004_payments.sql; see the comments there.

-- Accepted webhook notifications, durable before the 200 (SQLite: a claim is one UPDATE in a
-- BEGIN IMMEDIATE transaction, so two instances on one file never process one row at once).
CREATE TABLE mp_inbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    topic           TEXT    NOT NULL,          -- payment
    resource_id     TEXT    NOT NULL,          -- the MercadoPago payment id
    request_id      TEXT,                      -- x-request-id of the delivery
    action          TEXT,                      -- payment.created, payment.updated, ...
    body            TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'processing', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER  NOT NULL,
    locked_until    INTEGER,
    last_error      TEXT,
    received_at     INTEGER  NOT NULL,
    processed_at    INTEGER
);
CREATE INDEX mp_inbox_due ON mp_inbox (status, next_attempt_at);

-- One row per MercadoPago payment. mp_status is MercadoPago's last accepted status (a late, older state
-- never overwrites a newer one); status is ours: MercadoPago's, or needs_refund when an approved payment
-- could not confirm its hold. outcome says what the payment did to its reservation.
CREATE TABLE payments (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    provider         TEXT    NOT NULL DEFAULT 'mercadopago',
    payment_id       TEXT    NOT NULL,
    reservation_code TEXT,                     -- external_reference as MercadoPago reports it
    status           TEXT    NOT NULL,
    mp_status        TEXT    NOT NULL,
    status_detail    TEXT,
    amount_cents     INTEGER,
    currency         TEXT,
    outcome          TEXT    NOT NULL DEFAULT 'recorded',
    needs_refund     INTEGER NOT NULL DEFAULT 0 CHECK (needs_refund IN (0, 1)),
    created_at       INTEGER  NOT NULL,
    updated_at       INTEGER  NOT NULL,
    UNIQUE (provider, payment_id)
);
CREATE INDEX payments_reservation ON payments (reservation_code);
CREATE INDEX payments_needs_refund ON payments (needs_refund, updated_at);

-- Append-only: every notification, every fetched state, every failed fetch, every decision.
CREATE TABLE payment_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id       TEXT    NOT NULL,
    reservation_code TEXT,
    kind             TEXT    NOT NULL,         -- notification, fetched, fetch_failed, applied
    status           TEXT,
    detail           TEXT    NOT NULL DEFAULT '{}',   -- JSON
    at               INTEGER  NOT NULL
);
CREATE INDEX payment_events_payment ON payment_events (payment_id, id);
CREATE INDEX payment_events_reservation ON payment_events (reservation_code, id);

-- The Checkout Pro preference of each hold. The X-Idempotency-Key is derived from the code and the
-- generation, so a retry never creates a second preference; an admin's fresh link bumps the generation
-- after expiring the previous preference.
CREATE TABLE mp_preferences (
    reservation_code TEXT    PRIMARY KEY,
    generation       INTEGER NOT NULL DEFAULT 1,
    preference_id    TEXT,
    init_point       TEXT,
    last_error       TEXT,
    created_at       INTEGER  NOT NULL,
    updated_at       INTEGER  NOT NULL
);
