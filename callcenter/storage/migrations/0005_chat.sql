-- 0005: chats. A conversation is what a visitor (web widget) or a follower (WeChat) sees
-- as one chat; each of its queue visits is an interaction (0001), its messages are
-- messages rows tagged with the conversation, its files are stored with it. Plus the
-- journal of customer merges, so an agent can undo one.

CREATE TABLE chat_conversations (
    id              TEXT PRIMARY KEY,                 -- uuid
    medium          TEXT NOT NULL,                    -- web | wechat
    address         TEXT NOT NULL,                    -- web: visitor id; wechat: openid
    customer_id     INTEGER REFERENCES customers(id),
    interaction_id  TEXT REFERENCES interactions(id), -- the current (or last) queue visit
    queue           TEXT NOT NULL,
    skills          TEXT NOT NULL DEFAULT '{}',       -- JSON: skills the topic asks for
    topic           TEXT,
    language        TEXT,
    status          TEXT NOT NULL,                    -- queued | active | message | ended
    agent_id        TEXT,                             -- who serves it (last one, once ended)
    token_hash      TEXT,                             -- web: hex SHA-256 of the visitor token
    claims          TEXT NOT NULL DEFAULT '[]',       -- JSON [[kind, value]]: identities the
                                                      -- visitor gave that belong to another
    window          TEXT,                             -- wechat: NULL = open, else the reason
    window_errcode  INTEGER,
    window_at       REAL,
    rating          INTEGER CHECK (rating BETWEEN 1 AND 5),
    rating_comment  TEXT,
    visitor_got     INTEGER NOT NULL DEFAULT 0,       -- last message id the visitor received
    visitor_read    INTEGER NOT NULL DEFAULT 0,       -- ... and read
    agent_read      INTEGER NOT NULL DEFAULT 0,       -- last message id the agent read
    created_at      REAL NOT NULL,
    last_seen_at    REAL,                             -- the visitor's last message or visit
    ended_at        REAL,
    ended_by        TEXT                              -- agent | visitor | idle | system
);
CREATE INDEX chat_conversations_open ON chat_conversations(status) WHERE status != 'ended';
CREATE INDEX chat_conversations_address ON chat_conversations(medium, address, created_at);
CREATE INDEX chat_conversations_customer ON chat_conversations(customer_id);

ALTER TABLE messages ADD COLUMN conversation_id TEXT REFERENCES chat_conversations(id);
CREATE INDEX messages_conversation ON messages(conversation_id, id);

CREATE TABLE chat_files (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT    NOT NULL REFERENCES chat_conversations(id),
    message_id      INTEGER REFERENCES messages(id),
    name            TEXT    NOT NULL,
    content_type    TEXT    NOT NULL,
    size            INTEGER NOT NULL,
    sha256          TEXT    NOT NULL,
    data            BLOB    NOT NULL,
    created_at      REAL    NOT NULL
);
CREATE INDEX chat_files_conversation ON chat_files(conversation_id);
CREATE INDEX chat_files_message ON chat_files(message_id);

-- One row per merge made by a person: the row ids it moved from the merged customer to
-- the survivor, and the survivor's name and attributes before, so it can be undone.
CREATE TABLE customer_merges (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    survivor_id INTEGER NOT NULL REFERENCES customers(id),
    merged_id   INTEGER NOT NULL REFERENCES customers(id),
    actor       TEXT    NOT NULL,
    at          REAL    NOT NULL,
    moved       TEXT    NOT NULL,                     -- JSON {table: [ids]}
    before      TEXT    NOT NULL,                     -- JSON {name, attributes} of the survivor
    undone_at   REAL,
    undone_by   TEXT
);
CREATE INDEX customer_merges_customers ON customer_merges(survivor_id, merged_id);
