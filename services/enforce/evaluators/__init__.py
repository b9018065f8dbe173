"""Evaluators: per target, read the compiled output (never the compiler's code) and answer
the questions the intent answers. See weft.enforce.core.equivalence."""
