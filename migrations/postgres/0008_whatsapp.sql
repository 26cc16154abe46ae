-- 0008_whatsapp: the WhatsApp assistant's durable state.
--
-- whatsapp_messages: every message in (from guests) and out (sent by the server). An inbound row is
-- written before the webhook answers 200, keyed by the message id WhatsApp gives it (wamid, UNIQUE:
-- WhatsApp redelivers, and a redelivery is then a no-op). A worker claims inbound rows in order
-- (status received -> processing -> answered / ignored / failed). An outbound row is written before its
-- send with in_reply_to = the inbound row it answers; the partial unique index makes "at most one reply
-- per inbound message" a database rule, across instances and restarts. Status callbacks (sent,
-- delivered, read, failed) update the outbound row found by its wamid.
CREATE TABLE whatsapp_messages (
    id           bigserial PRIMARY KEY,
    wamid        text UNIQUE,                      -- NULL only for an outbound send that got no id
    direction    text   NOT NULL CHECK (direction IN ('in', 'out')),
    phone        text   NOT NULL,                  -- the guest's wa_id (digits)
    contact_name text   NOT NULL DEFAULT '',       -- inbound: the WhatsApp profile name
    msg_type     text   NOT NULL,                  -- text, interactive, audio, ...; out: text, list, buttons, template
    body         text   NOT NULL DEFAULT '',       -- inbound text (capped at 1000 bytes) or the reply sent
    reply_id     text   NOT NULL DEFAULT '',       -- inbound interactive: the button or row id
    status       text   NOT NULL,
    error        text,
    in_reply_to  bigint REFERENCES whatsapp_messages (id),
    wa_timestamp bigint,                           -- the timestamp WhatsApp put on the message
    status_at    bigint,                           -- outbound: when the last status arrived
    created_at   bigint NOT NULL,
    updated_at   bigint NOT NULL
);
CREATE UNIQUE INDEX whatsapp_messages_one_reply ON whatsapp_messages (in_reply_to) WHERE in_reply_to IS NOT NULL;
CREATE INDEX whatsapp_messages_pending ON whatsapp_messages (status, id) WHERE direction = 'in';
CREATE INDEX whatsapp_messages_phone ON whatsapp_messages (phone, id);

-- One row per guest phone: what the admin list shows, the 24-hour customer-service window
-- (last_inbound_at) and the handoff to a person (handoff_until: the bot stays silent until then).
-- The dialog state itself (dates, guests, offers) lives in Redis with a TTL, or in process.
CREATE TABLE whatsapp_conversations (
    phone            text PRIMARY KEY,
    contact_name     text   NOT NULL DEFAULT '',
    last_inbound_at  bigint,
    last_outbound_at bigint,
    handoff_until    bigint,
    messages_in      bigint NOT NULL DEFAULT 0,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL
);
CREATE INDEX whatsapp_conversations_recent ON whatsapp_conversations (updated_at);
