"""`weft story ID`: one attack story as Markdown, JSON or OCSF; triage it."""
from weft.cli.stories import register_story as register  # noqa: F401
