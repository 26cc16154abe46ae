-- 0004_payments: MercadoPago deposits. Notifications are recorded in an inbox before the webhook
-- answers, processed by a background worker that asks MercadoPago for the payment itself, and every
-- notification and every fetched state is appended to payment_events. payments holds one row per
-- MercadoPago payment (unique), so applying the same state twice finds the row and changes nothing.

-- Accepted webhook notifications, durable before the 200. Workers claim due rows
-- (FOR UPDATE SKIP LOCKED), so several instances never process one row at once.
CREATE TABLE mp_inbox (
    id              bigserial PRIMARY KEY,
    topic           text    NOT NULL,          -- payment
    resource_id     text    NOT NULL,          -- the MercadoPago payment id
    request_id      text,                      -- x-request-id of the delivery
    action          text,                      -- payment.created, payment.updated, ...
    body            text    NOT NULL DEFAULT '',
    status          text    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'processing', 'done', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at bigint  NOT NULL,
    locked_until    bigint,
    last_error      text,
    received_at     bigint  NOT NULL,
    processed_at    bigint
);
CREATE INDEX mp_inbox_due ON mp_inbox (status, next_attempt_at);

-- One row per MercadoPago payment. mp_status is MercadoPago's last accepted status (a late, older state
-- never overwrites a newer one); status is ours: MercadoPago's, or needs_refund when an approved payment
-- could not confirm its hold. outcome says what the payment did to its reservation.
CREATE TABLE payments (
    id               bigserial PRIMARY KEY,
    provider         text    NOT NULL DEFAULT 'mercadopago',
    payment_id       text    NOT NULL,
    reservation_code text,                     -- external_reference as MercadoPago reports it
    status           text    NOT NULL,
    mp_status        text    NOT NULL,
    status_detail    text,
    amount_cents     bigint,
    currency         text,
    outcome          text    NOT NULL DEFAULT 'recorded',
    needs_refund     integer NOT NULL DEFAULT 0 CHECK (needs_refund IN (0, 1)),
    created_at       bigint  NOT NULL,
    updated_at       bigint  NOT NULL,
    UNIQUE (provider, payment_id)
);
CREATE INDEX payments_reservation ON payments (reservation_code);
CREATE INDEX payments_needs_refund ON payments (needs_refund, updated_at);

-- Append-only: every notification, every fetched state, every failed fetch, every decision.
CREATE TABLE payment_events (
    id               bigserial PRIMARY KEY,
    payment_id       text    NOT NULL,
    reservation_code text,
    kind             text    NOT NULL,         -- notification, fetched, fetch_failed, applied
    status           text,
    detail           text    NOT NULL DEFAULT '{}',   -- JSON
    at               bigint  NOT NULL
);
CREATE INDEX payment_events_payment ON payment_events (payment_id, id);
CREATE INDEX payment_events_reservation ON payment_events (reservation_code, id);

-- The Checkout Pro preference of each hold. The X-Idempotency-Key is derived from the code and the
-- generation, so a retry never creates a second preference; an admin's fresh link bumps the generation
-- after expiring the previous preference.
CREATE TABLE mp_preferences (
    reservation_code text    PRIMARY KEY,
    generation       integer NOT NULL DEFAULT 1,
    preference_id    text,
    init_point       text,
    last_error       text,
    created_at       bigint  NOT NULL,
    updated_at       bigint  NOT NULL
);
