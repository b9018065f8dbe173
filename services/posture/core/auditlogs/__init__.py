"""Cloud audit logs in: one parser per log (what was actually used)."""
