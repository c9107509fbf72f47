"""The Asterisk this engine expects: configuration templates and the private-instance script."""
