-- The booked state the availability benchmark reads: for every accommodation named 'bench %', a 2-night
-- stay every 7 days over the horizon (100 per accommodation, about 20,000 reservations with their
-- claims), half confirmed, half holds that expire in an hour. Run by scripts/bench.sh after a TRUNCATE,
-- with psql -v now=EPOCH. Nights [current_date + 1 + 7k, current_date + 3 + 7k) are taken; the
-- availability request asks for current_date + 4 .. + 6 in the bench's "today", which is free whatever
-- the one-day difference between the database's and the property's time zone, so the EXISTS finds no
-- live claim. The statement asks the exclusion constraint's GiST index for claims whose daterange
-- overlaps, so it reads the neighbours of those nights only; until 2026-12-02 it matched the
-- accommodation alone in the index and read and filtered all 100 of its claims.
BEGIN;
WITH r AS (
    INSERT INTO reservations (code, accommodation_id, check_in, check_out, guests, guest_name, guest_phone,
                              channel, status, payment_status, nights, total_cents, deposit_percent,
                              deposit_cents, paid_cents, currency, expires_at, confirmed_at, created_at,
                              updated_at)
    SELECT 'FILL' || a.id || '-' || k, a.id, current_date + 1 + 7 * k, current_date + 3 + 7 * k, 2,
           'Fill Guest', '5491155551234', 'web',
           CASE WHEN k % 2 = 0 THEN 'confirmed' ELSE 'pre_reserved' END,
           CASE WHEN k % 2 = 0 THEN 'paid' ELSE 'pending' END,
           2, 2000000, 30, 600000, CASE WHEN k % 2 = 0 THEN 600000 ELSE 0 END, 'ARS',
           :now + 3600, CASE WHEN k % 2 = 0 THEN :now END, :now, :now
    FROM accommodations a, generate_series(0, 99) AS k
    WHERE a.name LIKE 'bench %'
    RETURNING id, accommodation_id, check_in, check_out)
INSERT INTO stay_claims (accommodation_id, check_in, check_out, reservation_id)
SELECT accommodation_id, check_in, check_out, id FROM r;
COMMIT;
ANALYZE reservations;
ANALYZE stay_claims;
