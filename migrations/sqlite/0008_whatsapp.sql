-- 0008_whatsapp: same tables as migrations/postgres/0008_whatsapp.sql; see the comments there.
CREATE TABLE whatsapp_messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    wamid        TEXT UNIQUE,
    direction    TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    phone        TEXT    NOT NULL,
    contact_name TEXT    NOT NULL DEFAULT '',
    msg_type     TEXT    NOT NULL,
    body         TEXT    NOT NULL DEFAULT '',
    reply_id     TEXT    NOT NULL DEFAULT '',
    status       TEXT    NOT NULL,
    error        TEXT,
    in_reply_to  INTEGER REFERENCES whatsapp_messages (id),
    wa_timestamp INTEGER,
    status_at    INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX whatsapp_messages_one_reply ON whatsapp_messages (in_reply_to) WHERE in_reply_to IS NOT NULL;
CREATE INDEX whatsapp_messages_pending ON whatsapp_messages (status, id) WHERE direction = 'in';
CREATE INDEX whatsapp_messages_phone ON whatsapp_messages (phone, id);

CREATE TABLE whatsapp_conversations (
    phone            TEXT PRIMARY KEY,
    contact_name     TEXT    NOT NULL DEFAULT '',
    last_inbound_at  INTEGER,
    last_outbound_at INTEGER,
    handoff_until    INTEGER,
    messages_in      INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX whatsapp_conversations_recent ON whatsapp_conversations (updated_at);
