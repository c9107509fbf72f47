"""Bring the product to life without a softphone: SIP phones for callers and agents."""
