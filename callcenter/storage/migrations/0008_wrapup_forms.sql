-- 0008: an agent's wrap-up forms are given once (a DISPOSITION event each); the console
-- asks which of the agent's recent contacts already have one.
CREATE INDEX queue_log_agent_event_at ON queue_log(agent, event, at);
