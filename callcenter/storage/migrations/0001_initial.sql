-- 0001: customers, their identities, interactions and everything that hangs off them
-- (messages, recordings, transcripts, summaries).  These tables hold what must never
-- be lost, so foreign keys have no ON DELETE CASCADE: deleting a parent that still has
-- children fails instead of silently erasing history.

CREATE TABLE customers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT,
    attributes    TEXT    NOT NULL DEFAULT '{}',   -- JSON object: vip, language, ...
    created_at    REAL    NOT NULL,
    updated_at    REAL    NOT NULL,
    merged_into   INTEGER REFERENCES customers(id), -- set on the losing side of a merge
    merged_at     REAL
);

CREATE TABLE customer_identities (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    kind          TEXT    NOT NULL,                -- phone | wechat_openid | web_visitor | email
    value         TEXT    NOT NULL,
    created_at    REAL    NOT NULL,
    UNIQUE (kind, value)
);
CREATE INDEX customer_identities_customer ON customer_identities(customer_id);

CREATE TABLE interactions (
    id              TEXT PRIMARY KEY,              -- uuid
    channel         TEXT NOT NULL,                 -- voice | chat | ...
    medium          TEXT,                          -- pstn | sip | wechat | web | ...
    direction       TEXT NOT NULL DEFAULT 'inbound',
    customer_id     INTEGER REFERENCES customers(id),
    queue           TEXT,
    agent_id        TEXT,
    ivr_choices     TEXT NOT NULL DEFAULT '[]',    -- JSON array
    arrived_at      REAL,
    offered_at      REAL,
    answered_at     REAL,
    ended_at        REAL,
    wrapup_ended_at REAL,
    outcome         TEXT,                          -- answered | abandoned | callback | ...
    disposition     TEXT,
    notes           TEXT,
    caller_masked   TEXT,                          -- never the full number
    transfer_of     TEXT REFERENCES interactions(id),
    attributes      TEXT NOT NULL DEFAULT '{}'     -- JSON object for engine extras
);
CREATE INDEX interactions_customer ON interactions(customer_id, arrived_at);
CREATE INDEX interactions_arrived ON interactions(arrived_at);
CREATE INDEX interactions_open ON interactions(channel, arrived_at) WHERE ended_at IS NULL;

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    interaction_id  TEXT    REFERENCES interactions(id),
    customer_id     INTEGER REFERENCES customers(id),
    direction       TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    sender          TEXT    NOT NULL,              -- 'customer' | agent id | 'system'
    body            TEXT    NOT NULL,
    content_type    TEXT    NOT NULL DEFAULT 'text',
    source          TEXT    NOT NULL DEFAULT '',   -- namespace of external_id: wechat, web...
    external_id     TEXT,                          -- e.g. WeChat MsgId, de-duplicates retries
    created_at      REAL    NOT NULL,
    delivered_at    REAL,                          -- outbound only
    delivery_status TEXT,                          -- outbound: pending|sent|delivered|failed|given_up
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    UNIQUE (source, external_id)
);
CREATE INDEX messages_interaction ON messages(interaction_id, created_at);
CREATE INDEX messages_customer ON messages(customer_id, created_at);
CREATE INDEX messages_pending ON messages(created_at)
    WHERE direction = 'out' AND delivered_at IS NULL;

CREATE TABLE recordings (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    interaction_id  TEXT    NOT NULL REFERENCES interactions(id),
    path            TEXT    NOT NULL,
    leg             TEXT    NOT NULL DEFAULT 'mixed', -- mixed | caller | agent
    started_at      REAL,
    ended_at        REAL,
    duration        REAL,
    size            INTEGER,
    status          TEXT    NOT NULL DEFAULT 'recording', -- recording|complete|failed|missing
    created_at      REAL    NOT NULL
);
CREATE INDEX recordings_interaction ON recordings(interaction_id);

CREATE TABLE transcripts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    interaction_id  TEXT    NOT NULL REFERENCES interactions(id),
    recording_id    INTEGER REFERENCES recordings(id),
    speaker         TEXT,
    leg             TEXT,
    start_offset    REAL    NOT NULL DEFAULT 0,    -- seconds from start of the recording
    end_offset      REAL    NOT NULL DEFAULT 0,
    text            TEXT    NOT NULL,
    engine          TEXT,
    confidence      REAL,
    created_at      REAL    NOT NULL
);
CREATE INDEX transcripts_interaction ON transcripts(interaction_id, start_offset);
CREATE INDEX transcripts_recording ON transcripts(recording_id, start_offset);

CREATE TABLE summaries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    interaction_id  TEXT    NOT NULL REFERENCES interactions(id),
    text            TEXT    NOT NULL,
    engine          TEXT,
    created_at      REAL    NOT NULL
);
CREATE INDEX summaries_interaction ON summaries(interaction_id, created_at);
