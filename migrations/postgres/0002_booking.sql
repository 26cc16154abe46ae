-- 0002: the booking core.
-- Timestamps are unix seconds (bigint) in both engines, so the same SQL compares them; dates are `date`.
-- Money is integer centavos; multipliers are 1/10000 units (1.20 -> 12000).
--
-- The no-overlap guarantee: stay_claims holds one row per *active* stay (a pre_reserved hold or a
-- confirmed booking) and per active block, and an exclusion constraint forbids two rows of one
-- accommodation sharing a night. A claim is deleted when its stay stops being active (cancelled,
-- expired) or its block is removed, so the constraint covers exactly the active statuses. A deferred
-- constraint trigger refuses to commit a reservation whose status and claim disagree, so no code path can
-- leave an active stay without its claim.

CREATE TABLE accommodations (
    id                    bigserial PRIMARY KEY,
    name                  text NOT NULL,
    type                  text NOT NULL DEFAULT 'cabin' CHECK (type IN ('cabin', 'apartment', 'house', 'room')),
    capacity              integer NOT NULL CHECK (capacity BETWEEN 1 AND 100),
    base_price_cents      bigint NOT NULL CHECK (base_price_cents >= 0),
    weekend_multiplier_bp integer NOT NULL DEFAULT 12000 CHECK (weekend_multiplier_bp BETWEEN 1 AND 100000),
    weekend_nights        text NOT NULL DEFAULT 'fri,sat',
    min_nights            integer NOT NULL DEFAULT 1 CHECK (min_nights >= 1),
    max_nights            integer NOT NULL DEFAULT 30 CHECK (max_nights >= min_nights),
    currency              text NOT NULL DEFAULT 'ARS',
    description           text NOT NULL DEFAULT '',
    amenities             text NOT NULL DEFAULT '[]',
    photos                text NOT NULL DEFAULT '[]',
    location              text NOT NULL DEFAULT '',
    policies              text NOT NULL DEFAULT '{}',
    active                integer NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at            bigint NOT NULL,
    updated_at            bigint NOT NULL
);

CREATE TABLE reservations (
    id               bigserial PRIMARY KEY,
    code             text NOT NULL UNIQUE,
    accommodation_id bigint NOT NULL REFERENCES accommodations (id),
    check_in         date NOT NULL,
    check_out        date NOT NULL,
    guests           integer NOT NULL CHECK (guests >= 1),
    guest_name       text NOT NULL,
    guest_phone      text NOT NULL,
    guest_email      text,
    channel          text NOT NULL DEFAULT 'web',
    status           text NOT NULL CHECK (status IN ('pre_reserved', 'confirmed', 'cancelled', 'expired')),
    payment_status   text NOT NULL DEFAULT 'pending',
    nights           integer NOT NULL,
    total_cents      bigint NOT NULL,
    deposit_percent  integer NOT NULL,
    deposit_cents    bigint NOT NULL,
    paid_cents       bigint NOT NULL DEFAULT 0,
    currency         text NOT NULL DEFAULT 'ARS',
    expires_at       bigint,
    confirmed_at     bigint,
    cancelled_at     bigint,
    cancel_reason    text,
    notes            text,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL,
    CHECK (check_out > check_in)
);
CREATE INDEX reservations_status_expires ON reservations (status, expires_at);
CREATE INDEX reservations_accommodation_dates ON reservations (accommodation_id, check_in);
CREATE INDEX reservations_created ON reservations (created_at);

CREATE TABLE blocks (
    id               bigserial PRIMARY KEY,
    accommodation_id bigint NOT NULL REFERENCES accommodations (id),
    start_date       date NOT NULL,
    end_date         date NOT NULL,
    reason           text NOT NULL DEFAULT '',
    source           text NOT NULL DEFAULT 'manual',
    created_by       text NOT NULL DEFAULT '',
    created_at       bigint NOT NULL,
    CHECK (end_date > start_date)
);
CREATE INDEX blocks_accommodation ON blocks (accommodation_id, start_date);

CREATE TABLE stay_claims (
    id               bigserial PRIMARY KEY,
    accommodation_id bigint NOT NULL REFERENCES accommodations (id),
    check_in         date NOT NULL,
    check_out        date NOT NULL,
    reservation_id   bigint UNIQUE REFERENCES reservations (id),
    block_id         bigint UNIQUE REFERENCES blocks (id) ON DELETE CASCADE,
    CHECK (check_out > check_in),
    CHECK ((reservation_id IS NULL) <> (block_id IS NULL)),
    CONSTRAINT stay_claims_no_overlap
        EXCLUDE USING gist (accommodation_id WITH =, daterange(check_in, check_out, '[)') WITH &&)
);

CREATE FUNCTION reservation_claim_consistent() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    claimed boolean;
BEGIN
    SELECT EXISTS (SELECT 1 FROM stay_claims c
                   WHERE c.reservation_id = NEW.id AND c.accommodation_id = NEW.accommodation_id
                     AND c.check_in = NEW.check_in AND c.check_out = NEW.check_out) INTO claimed;
    IF NEW.status IN ('pre_reserved', 'confirmed') AND NOT claimed THEN
        RAISE EXCEPTION 'reservation % is % without its claim on the nights', NEW.code, NEW.status;
    END IF;
    IF NEW.status NOT IN ('pre_reserved', 'confirmed')
       AND EXISTS (SELECT 1 FROM stay_claims c WHERE c.reservation_id = NEW.id) THEN
        RAISE EXCEPTION 'reservation % is % but still claims its nights', NEW.code, NEW.status;
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER reservations_claim_consistent
    AFTER INSERT OR UPDATE ON reservations
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION reservation_claim_consistent();

CREATE TABLE idempotency_keys (
    key         text NOT NULL,
    scope       text NOT NULL,
    body_hash   text NOT NULL,
    status      integer,
    response    text,
    location    text,
    created_at  bigint NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE admin_users (
    email         text PRIMARY KEY,
    password_hash text NOT NULL,
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL
);
