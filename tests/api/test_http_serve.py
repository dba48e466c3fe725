"""Reliability of `slot211 serve` over real HTTP, with the real slot service and ledger: 64 racing
clients never overbook (SQLite; PostgreSQL with one replica and with two sharing it), a key
replayed 100 times makes one reservation, an expired hold frees its slot, and after kill -9 every
acknowledged write is there exactly once. Also: serve warms up before it listens."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.slots.ledger_helpers import pg_test_schema, pg_unreachable

ROOT = Path(__file__).resolve().parents[2]
BEIJING = ROOT / "data" / "beijing"
SLOT211 = str(Path(sys.executable).parent / "slot211")
ORDER_KEY = "order-" + secrets.token_hex(16)
ADMIN_KEY = "admin-" + secrets.token_hex(16)
ENV = {**os.environ, "SLOT211_API_KEYS": f"order-system:{ORDER_KEY},admin:{ADMIN_KEY}"}
RACE, REPLAY, EXPIRY, CRASH, PG_RACE = "BJ-WJ", "BJ-GM", "BJ-XD", "BJ-CYM", "BJ-ZGC"
CAPACITY = 5
CLIENTS = 64


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `slot211 serve` subprocess in its own process group, ready once /healthz answers."""

    def __init__(self, db: str, log: Path, quotas: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [SLOT211, "serve", str(BEIJING), "--db", db, "--port", str(self.port)]
        if quotas is not None:
            cmd += ["--quotas", str(quotas)]
        self.log = log
        with log.open("a") as out:
            self.proc = subprocess.Popen(cmd, env=ENV, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"serve exited: {log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.kill()
        raise AssertionError(f"serve not ready in 120 s: {log.read_text()[-3000:]}")

    def client(self, key: str = ORDER_KEY) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key}, timeout=30)

    def kill(self) -> None:
        """kill -9 the server and anything it started."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@lru_cache
def skus() -> tuple[str, ...]:
    """SKUs a Beijing warehouse stocks, from a generated order."""
    from slots.generate import generate_orders
    from warehouses import load_network

    network = load_network(BEIJING)
    return next(o.skus for o in generate_orders(network, 50, datetime.now().date(), 1)
                if o.kind == "delivery")


@lru_cache
def station_location(station: str) -> tuple[float, float]:
    from warehouses import load_network

    return load_network(BEIJING).stations[station].location


def order(station: str, n: int | str) -> dict:
    """An order placed now (Beijing time) at the station's own address."""
    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, microsecond=0)
    lat, lon = station_location(station)
    return {"id": f"{station}-{n}", "city": "beijing", "submitted_at": now.isoformat(),
            "payment": "cod", "location": [lat, lon], "weight_kg": 1.0, "volume_m3": 0.01,
            "skus": list(skus())}


def offered_slot(client: httpx.Client, station: str) -> str:
    """A slot of the station offered now to an order there (a 211 or timed one)."""
    r = client.post("/v1/quotes", json=order(station, "probe"))
    assert r.status_code == 200, r.text
    slots = [s for s in r.json()["results"][0]["slots"]
             if s["offered"] and s["station"] == station and s["pickup_point"] is None]
    assert slots, r.text
    return slots[0]["slot"]


def active(server: Server, slot: str) -> tuple[int, int]:
    """(held, confirmed) of a slot, from the station overview."""
    station, day = slot.split("|")[:2]
    with server.client(ADMIN_KEY) as c:
        r = c.get(f"/v1/stations/{station}/slots", params={"date": day})
    assert r.status_code == 200, r.text
    [status] = [s for s in r.json()["slots"] if s["slot"] == slot]
    return status["held"], status["confirmed"]


def race(servers: list[Server], station: str, slot: str) -> Counter:
    """CLIENTS threads, released together, each hold then confirm; outcomes by code."""
    gate = threading.Barrier(CLIENTS)
    outcomes: list[str] = []

    def one(i: int) -> None:
        with servers[i % len(servers)].client() as c:
            c.get("/healthz")
            gate.wait(60)
            r = c.post("/v1/reservations", json={"order": order(station, i), "slot": slot},
                       headers={"Idempotency-Key": f"race-{station}-{i}"})
            if r.status_code == 201:
                r = c.post(f"/v1/reservations/{r.json()['id']}/confirm")
                outcomes.append(r.json()["status"] if r.status_code == 200 else r.text)
            else:
                outcomes.append(r.json()["error"]["code"] if r.status_code == 409 else r.text)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return Counter(outcomes)


@pytest.fixture(scope="module")
def quotas(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("quotas") / "quotas.json"
    path.write_text(json.dumps({RACE: CAPACITY, EXPIRY: 1, PG_RACE: CAPACITY}))
    return path


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory, quotas):
    folder = tmp_path_factory.mktemp("sqlite")
    server = Server(f"sqlite:///{folder}/ledger.db", folder / "serve.log", quotas)
    yield server
    server.stop()


def test_racing_clients_never_overbook_sqlite(sqlite_server):
    with sqlite_server.client() as c:
        slot = offered_slot(c, RACE)
    outcomes = race([sqlite_server], RACE, slot)
    assert outcomes == Counter({"confirmed": CAPACITY, "SLOT_FULL": CLIENTS - CAPACITY})
    assert active(sqlite_server, slot) == (0, CAPACITY)


def test_same_key_replayed_100_times_is_one_reservation(sqlite_server):
    with sqlite_server.client() as c:
        slot = offered_slot(c, REPLAY)
    body = {"order": order(REPLAY, "replayed"), "slot": slot, "idempotency_key": "replay-1"}
    ids: list[str] = []

    def replay() -> None:
        with sqlite_server.client() as c:
            for _ in range(10):
                r = c.post("/v1/reservations", json=body)
                assert r.status_code == 201, r.text
                ids.append(r.json()["id"])

    threads = [threading.Thread(target=replay) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(ids) == 100 and len(set(ids)) == 1
    assert active(sqlite_server, slot) == (1, 0)


def test_expired_hold_releases_its_capacity(sqlite_server):
    with sqlite_server.client() as c:
        slot = offered_slot(c, EXPIRY)
        first = c.post("/v1/reservations", json={"order": order(EXPIRY, 1), "slot": slot,
                                                  "ttl_seconds": 1.0},
                       headers={"Idempotency-Key": "expiry-1"})
        assert first.status_code == 201, first.text
        full = c.post("/v1/reservations", json={"order": order(EXPIRY, 2), "slot": slot},
                      headers={"Idempotency-Key": "expiry-2"})
        assert full.status_code == 409 and full.json()["error"]["code"] == "SLOT_FULL"
        time.sleep(1.5)
        again = c.post("/v1/reservations", json={"order": order(EXPIRY, 3), "slot": slot},
                       headers={"Idempotency-Key": "expiry-3"})
        assert again.status_code == 201, again.text
        late = c.post(f"/v1/reservations/{first.json()['id']}/confirm")
        assert late.status_code == 409 and late.json()["error"]["code"] == "EXPIRED"
        assert c.get(f"/v1/reservations/{first.json()['id']}").json()["status"] == "expired"


def test_kill_9_loses_no_acknowledged_write_and_duplicates_none(tmp_path):
    db = f"sqlite:///{tmp_path}/ledger.db"
    server = Server(db, tmp_path / "serve.log")
    with server.client() as c:
        slot = offered_slot(c, CRASH)
    held: dict[str, str] = {}  # idempotency key -> reservation id, as acknowledged
    confirmed: set[str] = set()
    attempted: list[str] = []
    stop = threading.Event()

    def writer(w: int) -> None:
        with server.client() as c:
            n = 0
            while not stop.is_set():
                key = f"crash-{w}-{n}"
                attempted.append(key)
                try:
                    r = c.post("/v1/reservations", json={"order": order(CRASH, key), "slot": slot},
                               headers={"Idempotency-Key": key})
                    if r.status_code != 201:
                        continue
                    held[key] = r.json()["id"]
                    if n % 2 == 0:
                        r = c.post(f"/v1/reservations/{held[key]}/confirm")
                        if r.status_code == 200:
                            confirmed.add(held[key])
                except httpx.HTTPError:
                    return
                finally:
                    n += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    time.sleep(2.5)
    server.kill()
    stop.set()
    for t in threads:
        t.join(30)
    assert len(held) >= 10 and confirmed
    server = Server(db, tmp_path / "serve.log")
    try:
        with server.client() as c:
            for key, rid in held.items():
                r = c.get(f"/v1/reservations/{rid}")
                assert r.status_code == 200, (key, r.text)
                assert r.json()["idempotency_key"] == key
                assert r.json()["status"] in (("confirmed",) if rid in confirmed
                                              else ("held", "confirmed"))
            h, k = active(server, slot)  # a write in flight at the kill may have landed too
            assert len(held) <= h + k <= len(held) + len(threads)
            assert len(confirmed) <= k <= len(confirmed) + len(threads)
            for key, rid in held.items():
                r = c.post("/v1/reservations", json={"order": order(CRASH, key), "slot": slot},
                           headers={"Idempotency-Key": key})
                assert r.status_code == 201 and r.json()["id"] == rid
            assert active(server, slot) == (h, k)
    finally:
        server.stop()


@pytest.fixture
def pg_url():
    reason = pg_unreachable()
    if reason:
        pytest.skip(reason)
    with pg_test_schema() as url:
        yield url


@pytest.mark.parametrize("replicas", [1, 2])
def test_racing_clients_never_overbook_postgres(pg_url, quotas, tmp_path, replicas):
    servers = []
    try:
        for n in range(replicas):  # one after the other: the first creates the tables
            servers.append(Server(pg_url, tmp_path / f"serve-{n}.log", quotas))
        with servers[0].client() as c:
            slot = offered_slot(c, PG_RACE)
        outcomes = race(servers, PG_RACE, slot)
        assert outcomes == Counter({"confirmed": CAPACITY, "SLOT_FULL": CLIENTS - CAPACITY})
        assert {active(s, slot) for s in servers} == {(0, CAPACITY)}
    finally:
        for server in servers:
            server.stop()

def test_serve_warms_up_before_uvicorn_and_prints_a_dev_key(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from api import cli
    from tests.api.test_http_app import FakeService

    events: list = []

    class Service(FakeService):
        def __init__(self, network, ledger, **options) -> None:
            super().__init__()
            events.append(("init", sorted(options)))

        def warmup(self) -> None:
            events.append("warmup")

        def close(self) -> None:
            events.append("close")

    monkeypatch.setattr("slots.service.SlotService", Service)
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: events.append(("run", kw["port"])))
    monkeypatch.delenv("SLOT211_API_KEYS", raising=False)
    result = CliRunner().invoke(cli.app, ["serve", str(BEIJING), "--db",
                                          f"sqlite:///{tmp_path}/ledger.db", "--port", "8299"])
    assert result.exit_code == 0, result.output
    assert "this run's admin key is" in result.output
    assert events == [("init", ["hold_ttl", "quotas"]), "warmup", ("run", 8299), "close"]


def test_serve_production_without_keys_refuses_to_start(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from api import cli

    monkeypatch.delenv("SLOT211_API_KEYS", raising=False)
    result = CliRunner().invoke(cli.app, ["serve", str(BEIJING), "--production", "--db",
                                          f"sqlite:///{tmp_path}/ledger.db"])
    assert result.exit_code == 2 and "needs API keys" in result.output
