"""`weft identity AGENT`: the agent's resolved cross-cloud identity chain, link by link."""
from weft.cli.posture import register_identity as register  # noqa: F401
