"""The durable reservation ledger behind slot availability: holds, confirmations and cancellations
of slot capacity, in SQLite (one host) or PostgreSQL (several API replicas).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from .base import Check, Code, Ledger, LedgerError, Pool, Reservation, Status

SQLITE_PREFIX = "sqlite:///"


def open_ledger(url: str) -> Ledger:
    """Open (creating its tables if missing) the ledger at `url`.

    "sqlite:///PATH" is a SQLite file (relative PATH, or "sqlite:////abs/path"); "postgresql://..."
    or "postgres://..." is a PostgreSQL database. Anything else is a ValueError.
    """
    if url.startswith(SQLITE_PREFIX):
        from .sqlite import SqliteLedger
        return SqliteLedger(url[len(SQLITE_PREFIX):])
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresLedger
        return PostgresLedger(url)
    raise ValueError(f"unknown ledger url {_redacted(url)!r}: expected sqlite:///PATH or postgresql://...")


def _redacted(url: str) -> str:
    """The url with any password replaced by ***, so errors can be logged."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return url


__all__ = ["Check", "Code", "Ledger", "LedgerError", "Pool", "Reservation", "Status", "open_ledger"]
