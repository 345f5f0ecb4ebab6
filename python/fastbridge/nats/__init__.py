"""The bus on NATS JetStream, for users who outgrow one machine (see
:mod:`fastbridge.nats.bus`)."""

from fastbridge.nats.bus import UNDELIVERABLE, NatsBus

__all__ = ["UNDELIVERABLE", "NatsBus"]
