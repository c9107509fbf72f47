"""The HTTP framework the features build on: the route table and its guard, the
principal and access policies, the generated OpenAPI document. No feature here."""
