-- 0003_journal: the audit trail and the outbox, both written in the same transaction as the change they
-- describe, so a committed change always has its audit row and its messages, and a rolled-back one has none.

-- Who changed what: actor is "admin:<email>", "api", "webhook:mercadopago", "bot:whatsapp", "job:<name>".
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         bigint NOT NULL,
    actor      text   NOT NULL,
    action     text   NOT NULL,               -- e.g. reservation.confirmed, block.created
    entity     text   NOT NULL,               -- reservation, block, accommodation, feed
    entity_id  text   NOT NULL,
    before     text,                          -- JSON, NULL when the entity did not exist
    after      text                           -- JSON, NULL when it was deleted
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, id);

-- Messages to deliver (email, WhatsApp, MercadoPago preference creation). A delivery worker claims due
-- rows (FOR UPDATE SKIP LOCKED), sends, and retries with backoff until sent or dead.
CREATE TABLE outbox (
    id               bigserial PRIMARY KEY,
    channel          text    NOT NULL,        -- email, whatsapp, mercadopago
    template         text    NOT NULL,        -- hold_created, booking_confirmed, ...
    recipient        text    NOT NULL DEFAULT '',  -- address, phone, "owner" (OWNER_EMAIL at delivery)
    reservation_code text,
    payload          text    NOT NULL DEFAULT '{}', -- JSON slots beyond the reservation's own fields
    dedupe_key       text    UNIQUE,          -- the same event never makes two messages
    status           text    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sending', 'sent', 'dead', 'skipped')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  bigint  NOT NULL,
    locked_until     bigint,
    last_error       text,
    provider_id      text,                    -- the id the provider gave the message (wamid, Message-ID)
    created_at       bigint  NOT NULL,
    updated_at       bigint  NOT NULL,
    sent_at          bigint
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_reservation ON outbox (reservation_code);

-- The guest's MercadoPago Checkout link for the deposit (NULL until the preference exists).
ALTER TABLE reservations ADD COLUMN payment_url text;
