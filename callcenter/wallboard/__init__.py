"""The supervisor's live wallboard: queues, agents, the day's intervals, and actions."""
