"""HTTP load on `slot211 serve`: a bounded, paced open-loop mix of quotes (70%), holds (15%),
confirms (10%) and cancels (5%) from this process over loopback, then the same rate of quotes
against a bare FastAPI endpoint (benchmarks/bare_fastapi.py) served the same way, for the ratio.

Latency runs from each request's scheduled start, so a slow server cannot hide queueing
(no coordinated omission). A 409 on a hold (slot full, not offered) is a refusal, not an error.
Targets: p99 <= 30 ms at 300 req/s on 2 cores, zero errors.

    python -m benchmarks.slots_load --rate 300 --duration 20 \
        --json benchmarks/results/slots_load.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import numpy as np

from ._table import machine_meta, print_table, write_json

ROOT = Path(__file__).resolve().parents[1]
MIX = (("quote", 0.70), ("hold", 0.15), ("confirm", 0.10), ("cancel", 0.05))
REFUSALS = {"SLOT_FULL", "NOT_OFFERED", "INFEASIBLE", "EXPIRED", "CANCELLED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], port: int, env: dict[str, str], log: Path,
          timeout: float = 180.0) -> subprocess.Popen:
    """Start a server and wait until its /healthz answers."""
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(proc)
    raise RuntimeError(f"{cmd[0]} not ready after {timeout} s: {log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    """Stop a server and whatever it started (its own process group)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            return
        os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            pass


def orders_json(network_dir: Path, n: int, seed: int) -> list[dict]:
    """`n` generated orders, submitted (and paid) now in Beijing, as API JSON."""
    from slots.generate import generate_orders
    from slots.order_json import order_to_dict
    from warehouses import load_network

    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, microsecond=0)
    day = (now + timedelta(days=1)).date()
    orders = generate_orders(load_network(network_dir), n, day, seed)
    out = []
    for o in orders:
        o = replace(o, submitted_at=now, paid_at=now if o.payment == "prepaid" else None)
        d = order_to_dict(o)
        out.append({k: v for k, v in d.items() if v is not None})
    return out


@dataclass
class Run:
    """What one load run saw: latency per operation, errors and refusals."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    kinds: Counter = field(default_factory=Counter)
    first_errors: list[str] = field(default_factory=list)

    def record(self, op: str, seconds: float) -> None:
        self.latencies.setdefault(op, []).append(seconds)

    def error(self, op: str, what: str, kind: str) -> None:
        self.errors[op] = self.errors.get(op, 0) + 1
        self.kinds[f"{op} {kind}"] += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(f"{op}: {what}")


class Client:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: the load generator shares the
    cores with the server, so it must cost far less per request than httpx does."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(self, method: str, path: str, body: object = None,
                      headers: dict[str, str] | None = None) -> tuple[int, dict]:
        """(status, JSON body) of one request; OSError or ValueError if the exchange fails."""
        payload = b"" if body is None else json.dumps(body).encode()
        extra = self.extra + "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                f"\r\nContent-Length: {len(payload)}\r\n{extra}\r\n").encode()
        while self.idle:  # an idle connection the server closed fails before any status
            try:
                return await self._exchange(*self.idle.pop(), head + payload)
            except ConnectionResetError:
                continue
        return await self._exchange(*await asyncio.open_connection("127.0.0.1", self.port),
                                    head + payload)

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        data: bytes) -> tuple[int, dict]:
        try:
            writer.write(data)
            line = await reader.readline()
            if not line:
                raise ConnectionResetError("closed before the status line")
            status = int(line.split(b" ", 2)[1])
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            body = await reader.readexactly(length) if length else b""
        except BaseException:
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self.idle.append((reader, writer))
        return status, json.loads(body) if body else {}

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


class Mix:
    """Chooses each request and keeps the pools it draws on: quoted slots, holds, confirmations."""

    def __init__(self, orders: list[dict], seed: int) -> None:
        self.rng = random.Random(seed)
        self.orders = orders
        self.next_order = 0
        self.quoted: list[tuple[dict, str]] = []
        self.held: list[str] = []
        self.confirmed: list[str] = []

    def next(self) -> tuple[str, object]:
        """The next request: its kind and what it acts on, taken from the pools now."""
        x, acc = self.rng.random(), 0.0
        for op, share in MIX:
            acc += share
            if x < acc:
                break
        if op == "hold" and self.quoted:
            return op, self.take(self.quoted)
        if op == "confirm" and self.held:
            return op, self.take(self.held)
        if op == "cancel" and (self.held or self.confirmed):
            pool = self.held if self.held and (not self.confirmed or self.rng.random() < .5) \
                else self.confirmed
            return op, self.take(pool)
        return "quote", self.order()

    def order(self) -> dict:
        o = self.orders[self.next_order % len(self.orders)]
        self.next_order += 1
        return {**o, "id": f"{o['id']}-{self.next_order}"}

    def take(self, pool: list) -> object:
        return pool.pop(self.rng.randrange(len(pool)))


async def one(client: Client, mix: Mix, op: str, arg: object, run: Run,
              scheduled: float, bare: bool) -> None:
    """Send one request of kind `op` on `arg`, timing it from `scheduled`, and feed the pools."""
    try:
        if op == "quote":
            status, body = await client.request("POST", "/v1/quotes", arg)
            if status == 200 and not bare:
                offered = [s["slot"] for s in body["results"][0]["slots"] if s["offered"]]
                if offered:
                    mix.quoted.append((arg, mix.rng.choice(offered)))
        elif op == "hold":
            order, slot = arg
            status, body = await client.request("POST", "/v1/reservations",
                                                {"order": order, "slot": slot},
                                                {"Idempotency-Key": uuid.uuid4().hex})
            if status == 201:
                mix.held.append(body["id"])
        elif op == "confirm":
            status, body = await client.request("POST", f"/v1/reservations/{arg}/confirm")
            if status == 200:
                mix.confirmed.append(arg)
        else:
            status, body = await client.request("DELETE", f"/v1/reservations/{arg}")
    except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
        run.error(op, f"{type(exc).__name__}: {exc}", type(exc).__name__)
        return
    run.record(op, time.perf_counter() - scheduled)
    if status == 409 and body.get("error", {}).get("code") in REFUSALS:
        run.refused += 1
    elif status >= 400:
        run.error(op, f"{status} {json.dumps(body)[:200]}",
                  f"{status} {body.get('error', {}).get('code')}")


async def load(port: int, headers: dict[str, str], mix: Mix, rate: float, duration: float,
               warmup: float, bare: bool) -> tuple[Run, float]:
    """Paced open loop: request i starts at i/rate; returns the measured run and its wall time."""
    client = Client(port, headers)
    try:
        for seconds in (warmup, duration):  # the warm-up run is dropped
            run, tasks = Run(), []
            t0 = time.perf_counter()
            for i in range(int(rate * seconds)):
                at = t0 + i / rate
                delay = at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                op, arg = ("quote", mix.order()) if bare else mix.next()
                tasks.append(asyncio.create_task(one(client, mix, op, arg, run, at, bare)))
            await asyncio.gather(*tasks)
            wall = time.perf_counter() - t0
    finally:
        client.close()
    return run, wall


def rows_of(target: str, run: Run, wall: float) -> list[dict]:
    """One row for all requests and one per operation."""
    rows = []
    everything = [x for xs in run.latencies.values() for x in xs]
    groups = [("all", everything)] + [(op, run.latencies.get(op, [])) for op, _ in MIX]
    for op, xs in groups:
        if not xs:
            continue
        ms = np.asarray(xs) * 1000
        errors = sum(run.errors.values()) if op == "all" else run.errors.get(op, 0)
        rows.append({"target": target, "op": op, "requests": len(xs) + errors,
                     "throughput": round((len(xs) + errors) / wall, 1),
                     "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
                     "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max()),
                     "errors": errors, "refused": run.refused if op == "all" else None})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.slots_load", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--network", default=str(ROOT / "data" / "beijing"))
    ap.add_argument("--rate", type=float, default=300.0, help="requests per second")
    ap.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    ap.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    ap.add_argument("--orders", type=int, default=2000, help="distinct generated orders")
    ap.add_argument("--db", help="ledger URL (default: SQLite in a temporary folder)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-bare", action="store_true", help="skip the bare FastAPI baseline")
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args()

    key = secrets.token_urlsafe(32)
    env = {**os.environ, "SLOT211_API_KEYS": f"order-system:{key}"}
    bin_dir = Path(sys.executable).parent
    orders = orders_json(Path(args.network), args.orders, args.seed)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/ledger.db"
        port = free_port()
        server = start([str(bin_dir / "slot211"), "serve", args.network, "--db", db,
                        "--port", str(port)], port, env, Path(tmp) / "serve.log")
        try:
            run, wall = asyncio.run(load(port, {"Authorization": f"Bearer {key}"},
                                         Mix(orders, args.seed), args.rate, args.duration,
                                         args.warmup, bare=False))
        finally:
            stop(server)
        rows += rows_of("slot211", run, wall)
        for kind, n in run.kinds.most_common():
            print(f"errors: {n} x {kind}", file=sys.stderr)
        for line in run.first_errors:
            print("error:", line, file=sys.stderr)
        if run.first_errors:
            print("server log (tail):", (Path(tmp) / "serve.log").read_text()[-6000:],
                  file=sys.stderr)
        if not args.no_bare:
            port = free_port()
            bare = start([sys.executable, "-m", "benchmarks.bare_fastapi", "--port", str(port)],
                         port, env, Path(tmp) / "bare.log")
            try:
                run, wall = asyncio.run(load(port, {},
                                             Mix(orders, args.seed), args.rate, args.duration,
                                             args.warmup, bare=True))
            finally:
                stop(bare)
            rows += rows_of("bare", run, wall)
    bare_all = next((r for r in rows if r["target"] == "bare"), None)
    for r in rows:
        r["p99_vs_bare"] = round(r["p99_ms"] / bare_all["p99_ms"], 2) if bare_all else None
    print(f"open loop at {args.rate:g} req/s for {args.duration:g} s (+{args.warmup:g} s warm-up), "
          f"{os.cpu_count()} cores; latency from scheduled start")
    print_table(rows, [("target", "target"), ("op", "op"), ("requests", "requests"),
                       ("throughput", "req/s"), ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"),
                       ("p99_ms", "p99 ms"), ("max_ms", "max ms"), ("errors", "errors"),
                       ("refused", "409 refused"), ("p99_vs_bare", "p99/bare")])
    if args.json:
        write_json(args.json, rows, {**machine_meta(("fastapi", "uvicorn", "httpx", "numba")),
                                     "rate": args.rate, "duration": args.duration,
                                     "warmup": args.warmup, "db": "sqlite" if not args.db else
                                     args.db.split(":")[0]})


if __name__ == "__main__":
    main()
