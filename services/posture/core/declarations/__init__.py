"""Declarations in: one parser per format (what each identity link grants)."""
