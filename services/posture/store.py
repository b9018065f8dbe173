"""The tables posture owns: every input it has handled, so a redelivery is counted once."""
from __future__ import annotations

from weft.common.received import ReceivedBase


class Received(ReceivedBase, table=True):
    __tablename__ = "posture_received"
