"""chatbridge package."""
