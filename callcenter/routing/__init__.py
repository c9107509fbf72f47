"""Routing: the asyncio shell around the sans-I/O queue engine (acd)."""
