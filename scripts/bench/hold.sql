-- pgbench script: the transaction cabanas runs for POST /api/v1/reservations (store_hold_create in
-- src/store/reservation_store.c), statement for statement, with the same casts: expire stale
-- overlapping holds, insert the hold (RETURNING id), claim its nights through the exclusion constraint
-- (ON CONFLICT DO NOTHING), commit (which runs the deferred claim-consistency trigger).
-- Each client walks its own slots (client_id, client_id + nclients, client_id + 2 nclients, ...); a slot
-- is one night of one accommodation (accommodation first_acc + slot % nacc, night base + slot / nacc), so
-- no two transactions of one run want the same night as long as a run stays under nacc x ndays holds.
-- scripts/bench.sh sets, with -D:
--   seq=0 nclients=N first_acc=ID nacc=200 ndays=700 base=YYYY-MM-DD now=EPOCH expires=EPOCH
-- Differences from the server, none of them in the database's work: check_in / check_out are computed
-- in SQL, CAST(:base AS date) + CAST(:day AS integer), where the server sends them as text parameters
-- (pgbench variables are numbers), and the code is 'PGB' || slot instead of RES + 10 random characters.
-- The server also runs statements outside this transaction (accommodation read, overlap pre-check,
-- reading the new reservation back); those are not part of the database's insert ceiling.
\set slot :client_id + :seq * :nclients
\set seq :seq + 1
\set acc :first_acc + :slot % :nacc
\set day (:slot / :nacc) % :ndays
BEGIN;
UPDATE reservations SET status = 'expired', updated_at = CAST(:now AS bigint) WHERE accommodation_id = CAST(:acc AS bigint) AND status = 'pre_reserved' AND expires_at <= CAST(:now AS bigint) AND check_in < (CAST(:base AS date) + CAST(:day AS integer)) + 1 AND (CAST(:base AS date) + CAST(:day AS integer)) < check_out RETURNING id;
INSERT INTO reservations (code, accommodation_id, check_in, check_out, guests, guest_name, guest_phone, guest_email, channel, status, payment_status, nights, total_cents, deposit_percent, deposit_cents, paid_cents, currency, expires_at, created_at, updated_at) VALUES ('PGB' || :slot, CAST(:acc AS bigint), (CAST(:base AS date) + CAST(:day AS integer)), (CAST(:base AS date) + CAST(:day AS integer)) + 1, CAST(2 AS integer), 'Bench Guest', '5491155551234', NULL, 'web', 'pre_reserved', 'pending', CAST(1 AS integer), CAST(1000000 AS bigint), CAST(30 AS integer), CAST(300000 AS bigint), 0, 'ARS', CAST(:expires AS bigint), CAST(:now AS bigint), CAST(:now AS bigint)) RETURNING id \gset res_
INSERT INTO stay_claims (accommodation_id, check_in, check_out, reservation_id) VALUES (CAST(:acc AS bigint), (CAST(:base AS date) + CAST(:day AS integer)), (CAST(:base AS date) + CAST(:day AS integer)) + 1, CAST(:res_id AS bigint)) ON CONFLICT DO NOTHING RETURNING id;
COMMIT;
