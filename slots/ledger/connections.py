"""One database connection per thread, so a ledger object can be shared by a server's threads."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

C = TypeVar("C")


class PerThread(Generic[C]):
    """Makes a thread's connection on its first use and reuses it; replaces a broken one, and closes
    the connections of threads that have ended whenever it makes a new one. A forked child forgets
    (without closing) the connections it inherited, which belong to its parent."""

    def __init__(self, connect: Callable[[], C], close: Callable[[C], None],
                 broken: Callable[[C], bool] = lambda conn: False) -> None:
        self._connect = connect
        self._close = close
        self._broken = broken
        self._lock = threading.Lock()
        self._conns: dict[int, tuple[threading.Thread, C]] = {}
        self._closed = False
        self._pid = os.getpid()

    def get(self) -> C:
        """The calling thread's connection."""
        if self._pid != os.getpid():
            self._lock, self._conns, self._pid = threading.Lock(), {}, os.getpid()
        thread = threading.current_thread()
        entry = self._conns.get(thread.ident or 0)
        if entry is not None and entry[0] is thread and not self._broken(entry[1]):
            return entry[1]
        conn = self._connect()
        with self._lock:
            if self._closed:
                self._quietly_close(conn)
                raise RuntimeError("the ledger is closed")
            stale = [ident for ident, (owner, _) in self._conns.items()
                     if not owner.is_alive() or ident == thread.ident]
            for ident in stale:
                self._quietly_close(self._conns.pop(ident)[1])
            self._conns[thread.ident or 0] = (thread, conn)
        return conn

    def close(self) -> None:
        """Close every thread's connection; later `get` calls fail."""
        with self._lock:
            self._closed = True
            conns = [conn for _, conn in self._conns.values()]
            self._conns.clear()
        for conn in conns:
            self._quietly_close(conn)

    def _quietly_close(self, conn: C) -> None:
        try:
            self._close(conn)
        except Exception:
            pass
