-- 0003: each agent's presence and device, so a restarted engine signs nobody out.
-- One row per agent who has logged in; presence 'logged_out' rows are kept (cheap).

CREATE TABLE agent_presence (
    agent_id    TEXT PRIMARY KEY,
    presence    TEXT NOT NULL CHECK (presence IN ('ready', 'not_ready', 'logged_out')),
    reason      TEXT,
    device      TEXT,
    updated_at  REAL NOT NULL
);
