-- pgbench script (an experiment, not part of `make bench`): every statement cabanas sends PostgreSQL
-- for one POST /api/v1/reservations, in order: the accommodation read (store_accommodation_get), the
-- overlap pre-check (store_nights_taken), the hold transaction of hold.sql, and the read-back of the new
-- reservation (get_on). Same variables as hold.sql. Compared with hold.sql it shows how much of the gap
-- between the server and the raw transaction is the database's own work for the extra statements.
\set slot :client_id + :seq * :nclients
\set seq :seq + 1
\set acc :first_acc + :slot % :nacc
\set day (:slot / :nacc) % :ndays
SELECT a.id, a.name, a.type, a.capacity, a.base_price_cents, a.weekend_multiplier_bp, a.weekend_nights, a.min_nights, a.max_nights, a.currency, a.description, a.amenities, a.photos, a.location, a.policies, a.active, a.created_at, a.updated_at FROM accommodations a WHERE a.id = CAST(:acc AS bigint);
SELECT EXISTS (SELECT 1 FROM stay_claims c LEFT JOIN reservations r ON r.id = c.reservation_id WHERE c.accommodation_id = a.id AND c.check_in < (CAST(:base AS date) + CAST(:day AS integer)) + 1 AND (CAST(:base AS date) + CAST(:day AS integer)) < c.check_out AND (r.id IS NULL OR r.status <> 'pre_reserved' OR r.expires_at > CAST(:now AS bigint))) FROM accommodations a WHERE a.id = CAST(:acc AS bigint);
BEGIN;
UPDATE reservations SET status = 'expired', updated_at = CAST(:now AS bigint) WHERE accommodation_id = CAST(:acc AS bigint) AND status = 'pre_reserved' AND expires_at <= CAST(:now AS bigint) AND check_in < (CAST(:base AS date) + CAST(:day AS integer)) + 1 AND (CAST(:base AS date) + CAST(:day AS integer)) < check_out RETURNING id;
INSERT INTO reservations (code, accommodation_id, check_in, check_out, guests, guest_name, guest_phone, guest_email, channel, status, payment_status, nights, total_cents, deposit_percent, deposit_cents, paid_cents, currency, expires_at, created_at, updated_at) VALUES ('PGB' || :slot, CAST(:acc AS bigint), (CAST(:base AS date) + CAST(:day AS integer)), (CAST(:base AS date) + CAST(:day AS integer)) + 1, CAST(2 AS integer), 'Bench Guest', '5491155551234', NULL, 'web', 'pre_reserved', 'pending', CAST(1 AS integer), CAST(1000000 AS bigint), CAST(30 AS integer), CAST(300000 AS bigint), 0, 'ARS', CAST(:expires AS bigint), CAST(:now AS bigint), CAST(:now AS bigint)) RETURNING id \gset res_
INSERT INTO stay_claims (accommodation_id, check_in, check_out, reservation_id) VALUES (CAST(:acc AS bigint), (CAST(:base AS date) + CAST(:day AS integer)), (CAST(:base AS date) + CAST(:day AS integer)) + 1, CAST(:res_id AS bigint)) ON CONFLICT DO NOTHING RETURNING id;
COMMIT;
SELECT r.id, r.code, r.accommodation_id, a.name, r.check_in, r.check_out, r.guests, r.guest_name, r.guest_phone, r.guest_email, r.channel, r.status, r.payment_status, r.nights, r.total_cents, r.deposit_percent, r.deposit_cents, r.paid_cents, r.currency, r.expires_at, r.confirmed_at, r.cancelled_at, r.cancel_reason, r.notes, r.created_at, r.updated_at FROM reservations r JOIN accommodations a ON a.id = r.accommodation_id WHERE r.code = 'PGB' || :slot;
