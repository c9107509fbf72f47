"""Console accounts synced from agents.yaml, login sessions, roles and team scoping."""
