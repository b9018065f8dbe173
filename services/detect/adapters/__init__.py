"""Provider-alert adapters: one module per vendor, each a class registered by name
(`@register("guardduty")`) that turns one record into a `Detection`; envelopes are
opened before (envelopes.py) and the OCSF finding is built after (core/finding.py)."""
from weft.detect.adapters import defender, falco, guardduty, scc, tetragon  # noqa: F401 - they register
from weft.detect.adapters.registry import ADAPTERS, Adapter, UnknownAdapter, named, owners, register

__all__ = ["ADAPTERS", "Adapter", "UnknownAdapter", "named", "owners", "register"]
