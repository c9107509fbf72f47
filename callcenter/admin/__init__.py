"""The admin console: view, validate and apply the four YAML files; the audit trail."""
