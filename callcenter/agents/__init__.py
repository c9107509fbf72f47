"""Agents: login to a device, presence, offers and wrap-up."""
