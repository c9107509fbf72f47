-- 0004: speech: the durable transcription backlog, what each call's speech produced
-- (word-timed transcript, summary, inspection) and the inspection's flags under review.
-- The utterances themselves go to `transcripts`, the agent-facing summary text to
-- `summaries` (both from 0001).

-- One job per interaction. A crash leaves a job 'running' with the dead process's
-- owner; the next start queues it again (attempts counts every start of the work).
CREATE TABLE speech_jobs (
    interaction_id  TEXT PRIMARY KEY REFERENCES interactions(id),
    status          TEXT NOT NULL DEFAULT 'queued',  -- queued | running | done | partial | failed
    language        TEXT,
    queue           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    error           TEXT,                             -- why failed / which leg failed (partial)
    owner           TEXT,                             -- "<host>:<pid>" of the process working on it
    audio_seconds   REAL,
    decode_seconds  REAL,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    started_at      REAL,
    finished_at     REAL
);
CREATE INDEX speech_jobs_status ON speech_jobs(status, created_at);

CREATE TABLE speech_results (
    interaction_id  TEXT PRIMARY KEY REFERENCES interactions(id),
    queue           TEXT,
    agent_id        TEXT,
    language        TEXT,
    duration        REAL,
    transcript      TEXT NOT NULL,   -- JSON: utterances with word timings, each leg's speech spans
    summary         TEXT NOT NULL,   -- JSON: reason, entities, topics, sentiment, key sentences
    inspection      TEXT,            -- JSON: score, passed, metrics (flags: speech_flags)
    score           REAL,
    passed          INTEGER,
    search_text     TEXT NOT NULL DEFAULT '',  -- normalised text for search (Han spaces removed)
    created_at      REAL NOT NULL
);
CREATE INDEX speech_results_created ON speech_results(created_at);

CREATE TABLE speech_flags (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    interaction_id  TEXT NOT NULL REFERENCES interactions(id),
    queue           TEXT,
    agent_id        TEXT,
    rule            TEXT NOT NULL,
    code            TEXT NOT NULL,
    message         TEXT NOT NULL,
    deduction       REAL NOT NULL,
    start_offset    REAL,
    end_offset      REAL,
    utterances      TEXT NOT NULL DEFAULT '[]',  -- JSON: the transcript lines that caused it
    details         TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL DEFAULT 'open',  -- open | confirmed | dismissed
    reviewed_by     TEXT,
    reviewed_at     REAL,
    review_note     TEXT,
    created_at      REAL NOT NULL
);
CREATE INDEX speech_flags_interaction ON speech_flags(interaction_id);
CREATE INDEX speech_flags_created ON speech_flags(created_at, queue);
