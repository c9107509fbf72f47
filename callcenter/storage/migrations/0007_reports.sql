-- 0007: what reports need beyond the queue log. Customer satisfaction (CSAT) ratings
-- from every channel in one table: the caller's keypress survey after a call, the web
-- widget's rating, a WeChat follower's reply to the rating message. One rating per
-- interaction and source; the queue, agent and customer are copied from the interaction
-- when the rating arrives, so a report needs no join to place it.

CREATE TABLE csat (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    interaction_id  TEXT    NOT NULL REFERENCES interactions(id),
    channel         TEXT    NOT NULL,                -- voice | chat
    medium          TEXT,                            -- pstn | web | wechat ...
    source          TEXT    NOT NULL,                -- voice_survey | widget | wechat
    queue           TEXT,
    agent_id        TEXT,
    customer_id     INTEGER REFERENCES customers(id),
    score           INTEGER NOT NULL,
    scale           INTEGER NOT NULL DEFAULT 5,      -- the best score; the worst is 1
    comment         TEXT,
    at              REAL    NOT NULL,
    CHECK (score BETWEEN 1 AND scale),
    UNIQUE (interaction_id, source)
);
CREATE INDEX csat_at ON csat(at);

-- Ratings the widget stored on its conversations before this table existed.
INSERT INTO csat (interaction_id, channel, medium, source, queue, agent_id, customer_id,
                  score, scale, comment, at)
SELECT c.interaction_id, 'chat', c.medium, 'widget', i.queue, COALESCE(i.agent_id, c.agent_id),
       c.customer_id, c.rating, 5, c.rating_comment,
       COALESCE(c.ended_at, c.last_seen_at, c.created_at)
  FROM chat_conversations c JOIN interactions i ON i.id = c.interaction_id
 WHERE c.rating IS NOT NULL;

-- Reports count callbacks by the time they were asked for.
CREATE INDEX callbacks_requested ON callbacks(requested_at);
