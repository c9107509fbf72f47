-- 0006: a password someone else chose (agents.yaml, an admin's reset) must be replaced by
-- its user before anything else works. Every password set before this migration came
-- from agents.yaml or was never changeable, so all of them are marked.

ALTER TABLE users ADD COLUMN password_must_change INTEGER NOT NULL DEFAULT 0;
UPDATE users SET password_must_change = 1 WHERE password_hash IS NOT NULL;
