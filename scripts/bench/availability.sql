-- pgbench script: the query cabanas runs for GET /api/v1/accommodations/{id}/availability
-- (store_accommodation_availability in src/store/accommodation_store.c), the same text with $1..$4 as
-- :id :cin :cout :now. scripts/bench.sh sets them with -D to the values of the wrk URL, and checks that
-- build/cabanas still contains this statement (with $1..$4) before it trusts the comparison.
SELECT a.id, a.name, a.type, a.capacity, a.base_price_cents, a.weekend_multiplier_bp, a.weekend_nights, a.min_nights, a.max_nights, a.currency, a.description, a.amenities, a.photos, a.location, a.policies, a.active, a.created_at, a.updated_at, CASE WHEN EXISTS (SELECT 1 FROM stay_claims c LEFT JOIN reservations r ON r.id = c.reservation_id WHERE c.accommodation_id = a.id AND c.check_in < :cout AND :cin < c.check_out AND (r.id IS NULL OR r.status <> 'pre_reserved' OR r.expires_at > CAST(:now AS bigint))) THEN 2 END FROM accommodations a WHERE a.id = CAST(:id AS bigint);
