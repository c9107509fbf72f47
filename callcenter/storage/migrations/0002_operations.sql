-- 0002: operational tables: agent states, the queue event log, console users and their
-- sessions, the configuration audit trail and callback requests.

CREATE TABLE agent_state_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id    TEXT NOT NULL,
    state       TEXT NOT NULL,
    reason      TEXT,
    at          REAL NOT NULL
);
CREATE INDEX agent_state_changes_at ON agent_state_changes(at);
CREATE INDEX agent_state_changes_agent ON agent_state_changes(agent_id, at);

-- In the spirit of Asterisk's queue_log: an append-only event stream reports are built on.
-- interaction_id is deliberately not a foreign key: it may be a task id of something that
-- never became an interaction row.
CREATE TABLE queue_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              REAL NOT NULL,
    interaction_id  TEXT,
    queue           TEXT,
    agent           TEXT,
    event           TEXT NOT NULL,   -- ENTERQUEUE CONNECT ABANDON COMPLETEAGENT ...
    data            TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX queue_log_at ON queue_log(at);
CREATE INDEX queue_log_queue_at ON queue_log(queue, at);
CREATE INDEX queue_log_interaction ON queue_log(interaction_id);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    username        TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    display_name    TEXT,
    role            TEXT    NOT NULL DEFAULT 'agent' CHECK (role IN ('agent', 'supervisor', 'admin')),
    teams           TEXT    NOT NULL DEFAULT '[]',  -- JSON array
    agent_id        TEXT,
    password_hash   TEXT,                           -- argon2id, NULL = cannot log in
    disabled        INTEGER NOT NULL DEFAULT 0,
    created_at      REAL    NOT NULL,
    updated_at      REAL    NOT NULL
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,                   -- hex SHA-256 of the token, never the token
    username    TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL,
    last_seen   REAL NOT NULL
);
CREATE INDEX sessions_expires ON sessions(expires_at);
CREATE INDEX sessions_username ON sessions(username);

CREATE TABLE config_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          REAL NOT NULL,
    actor       TEXT NOT NULL,
    filename    TEXT NOT NULL,
    summary     TEXT,
    old_text    TEXT,
    new_text    TEXT
);
CREATE INDEX config_changes_at ON config_changes(at);

CREATE TABLE callbacks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    interaction_id  TEXT    REFERENCES interactions(id),
    customer_id     INTEGER REFERENCES customers(id),
    number          TEXT    NOT NULL,               -- stored in full, never logged
    requested_at    REAL    NOT NULL,
    queue           TEXT,
    status          TEXT    NOT NULL DEFAULT 'pending', -- pending|dialing|done|failed|cancelled
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_attempt_at REAL,
    next_attempt_at REAL,
    completed_at    REAL,
    notes           TEXT
);
CREATE INDEX callbacks_status ON callbacks(status, requested_at);
