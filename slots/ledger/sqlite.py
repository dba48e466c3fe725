"""The ledger in one SQLite file: WAL, synchronous=FULL, every write under `BEGIN IMMEDIATE`.

`BEGIN IMMEDIATE` takes the file's single write lock, so writers in every thread and process
queue up (for up to `busy_timeout` seconds) while readers carry on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from .connections import PerThread
from .schema import Dialect
from .store import SqlLedger


class SqliteLedger(SqlLedger):
    """A ledger stored in the SQLite file at `path`, shared by any threads and processes using it."""

    dialect = Dialect(seq="INTEGER PRIMARY KEY AUTOINCREMENT", ts="TEXT", json="TEXT")
    unique_violation = (sqlite3.IntegrityError,)

    def __init__(self, path: str, busy_timeout: float = 30.0) -> None:
        if not path or path == ":memory:" or path.startswith("file:"):
            raise ValueError(f"the SQLite ledger needs a file path shared by its connections, got {path!r}")
        self.path = path
        self.busy_timeout = busy_timeout
        self._conns: PerThread[sqlite3.Connection] = PerThread(self._connect, sqlite3.Connection.close)
        self._migrate()

    def close(self) -> None:
        self._conns.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise RuntimeError(f"{self.path} cannot use WAL (journal_mode is {mode})")
            conn.execute("PRAGMA synchronous = FULL")
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
        conn = self._conns.get()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn.cursor()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Cursor]:
        cur = self._conns.get().cursor()
        try:
            yield cur
        finally:
            cur.close()

    def _ts_in(self, value: datetime) -> str:
        return value.isoformat(sep=" ", timespec="microseconds")

    def _ts_out(self, value: str) -> datetime:
        return datetime.fromisoformat(value)

    def _is_conflict(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))
