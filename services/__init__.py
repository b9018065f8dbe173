"""weft: one runtime security layer for AI agents across clouds."""
import os as _os

# Generated protobuf code (built by `make proto`, never committed) lives under
# common/generated/weft/; extending this package's path makes it importable as
# weft.v1, the name protoc's own cross-file imports use.
__path__.append(_os.path.join(_os.path.dirname(__file__), "common", "generated", "weft"))

__version__ = "0.1.0"
