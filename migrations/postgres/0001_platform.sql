-- 0001: the platform. btree_gist backs the booking no-overlap constraint (next migration);
-- app_meta holds instance-wide facts such as when the schema was first created.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE IF NOT EXISTS app_meta (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO app_meta (key, value) VALUES ('schema_created_at', now()::text) ON CONFLICT (key) DO NOTHING;
