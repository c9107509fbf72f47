"""Customers across channels: the screen-pop and the history staff may read."""
