"""The bus on NATS JetStream, for users who outgrow one machine (see
:mod:`fastbridge.nats.bus` and :mod:`fastbridge.nats.store`)."""

from fastbridge.nats.bus import NatsBus
from fastbridge.nats.store import JetStreamStore

__all__ = ["JetStreamStore", "NatsBus"]
