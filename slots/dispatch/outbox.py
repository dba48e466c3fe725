"""Messages for other systems, written to the outbox table in the same transaction as the plan
version that caused them, and delivered afterwards by a `Sender` (at least once)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

log = logging.getLogger("slot211.outbox")

PROMISE_BROKEN = "promise.broken"  # for the order system: an event broke the order's promise
PICKUP_POINT_ARRIVED = "pickup_point.arrived"  # for the text-message sender


class Sender(Protocol):
    """Delivers one message; raising leaves it in the outbox to be tried again."""

    def send(self, topic: str, key: str, payload: dict[str, Any]) -> None: ...


class LoggingSender:
    """The default sender: writes each message to the `slot211.outbox` log."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def send(self, topic: str, key: str, payload: dict[str, Any]) -> None:
        log.info("%s %s %s", topic, key, payload)
        self.sent.append((topic, key, payload))


def deliver(store: Any, sender: Sender, now: datetime, batch: int = 100) -> int:
    """Send pending outbox messages in order; stop at the first failure. Returns how many went."""
    sent = 0
    while True:
        pending = store.pending(batch)
        if not pending:
            return sent
        done = []
        try:
            for msg in pending:
                sender.send(msg["topic"], msg["key"], msg["payload"])
                done.append(msg["seq"])
        except Exception:
            log.exception("outbox: sending message %s failed; it stays queued",
                          pending[len(done)]["seq"])
            store.mark_sent(done, now)
            return sent + len(done)
        store.mark_sent(done, now)
        sent += len(done)
