"""The HTTP API against a fake slot service: each endpoint's happy path, errors in one envelope
naming the field, 404, 409, 413, limits, no stack trace on a 500, and the metrics."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import ADMIN, DISPATCHER, ORDER_SYSTEM, PLANNER, KeyStore
from slots.ledger.base import LedgerError, Reservation, Status
from slots.quotes import SlotQuote, SlotStatus

KEYS = {role: f"{role}-test-key-0123456789" for role in (ORDER_SYSTEM, DISPATCHER, PLANNER, ADMIN)}
DAY = date(2026, 12, 2)
SLOT = f"BJ-WJ|{DAY}|211_next_day|W1"
TIMED = f"BJ-WJ|{DAY}|timed_window|W2|14:00-16:00"
STATIONS = ("BJ-WJ",)


class FakeService:
    """The SlotService methods the API calls, in memory: capacity per slot, idempotent holds."""

    def __init__(self, capacity: int = 3) -> None:
        self.capacity = capacity
        self.by_id: dict[str, Reservation] = {}
        self.by_key: dict[str, Reservation] = {}
        self.lock = threading.Lock()
        self.fail: Exception | None = None
        self.calls: list[tuple] = []

    def _maybe_fail(self) -> None:
        if self.fail is not None:
            raise self.fail

    def quote(self, order, now=None) -> list[SlotQuote]:
        self._maybe_fail()
        self.calls.append(("quote", order))
        deadline = datetime.combine(DAY, datetime.min.time()) + timedelta(hours=15)
        start = datetime.combine(DAY, datetime.min.time()) + timedelta(hours=14)
        return [
            SlotQuote(slot=SLOT, type="211_next_day", offered=True, deadline=deadline,
                      station="BJ-WJ", wave="W1", wave_date=str(DAY), remaining=self._left(SLOT),
                      marginal_km=1.25, marginal_minutes=4.5),
            SlotQuote(slot=TIMED, type="timed_window", offered=True,
                      window=(start, start + timedelta(hours=2)), station="BJ-WJ", wave="W2",
                      wave_date=str(DAY), remaining=5, marginal_km=float("inf"),
                      marginal_minutes=3.0),
            SlotQuote(slot="", type="211_same_day", offered=False, reasons=("PAST_CUTOFF",)),
        ]

    def _left(self, slot: str) -> int:
        used = sum(1 for r in self.by_id.values()
                   if r.slot == slot and r.status in (Status.HELD, Status.CONFIRMED))
        return self.capacity - used

    def hold(self, order, slot, key, now=None, ttl_seconds=None) -> Reservation:
        self._maybe_fail()
        self.calls.append(("hold", order, slot, key, ttl_seconds))
        with self.lock:
            if key in self.by_key:
                r = self.by_key[key]
                if r.slot != slot or r.order_id != order.id:
                    raise LedgerError("KEY_REUSED", "key used for another request")
                return r
            if slot not in (SLOT, TIMED):
                raise LedgerError("UNKNOWN_SLOT", f"no slot {slot!r}")
            if self._left(slot) <= 0:
                raise LedgerError("SLOT_FULL", f"{slot} is full")
            created = datetime(2026, 12, 1, 10, 0)
            r = Reservation(id=f"R{len(self.by_id) + 1}", idempotency_key=key, slot=slot,
                            station="BJ-WJ", day=str(DAY), wave=slot.split("|")[3],
                            order_id=order.id, status=Status.HELD, created_at=created,
                            expires_at=created + timedelta(seconds=ttl_seconds or 900))
            self.by_id[r.id] = self.by_key[key] = r
            return r

    def _update(self, rid: str, status: str) -> Reservation:
        self._maybe_fail()
        if rid not in self.by_id:
            raise LedgerError("NOT_FOUND", f"no reservation {rid!r}")
        r = self.by_id[rid]
        if r.status == Status.CANCELLED:
            raise LedgerError("CANCELLED", f"{rid} is cancelled")
        r = replace(r, status=status, confirmed_at=datetime(2026, 12, 1, 10, 5)
                    if status == Status.CONFIRMED else r.confirmed_at)
        self.by_id[rid] = self.by_key[r.idempotency_key] = r
        return r

    def confirm(self, rid, now=None) -> Reservation:
        return self._update(rid, Status.CONFIRMED)

    def cancel(self, rid, now=None) -> Reservation:
        return self._update(rid, Status.CANCELLED)

    def get(self, rid) -> Reservation:
        self._maybe_fail()
        if rid not in self.by_id:
            raise LedgerError("NOT_FOUND", f"no reservation {rid!r}")
        return self.by_id[rid]

    def overview(self, station, day, now=None) -> list[SlotStatus]:
        self._maybe_fail()
        if station not in STATIONS:
            raise LedgerError("NOT_FOUND", f"no station {station!r}")
        held = sum(1 for r in self.by_id.values() if r.slot == SLOT and r.status == Status.HELD)
        done = sum(1 for r in self.by_id.values()
                   if r.slot == SLOT and r.status == Status.CONFIRMED)
        return [SlotStatus(slot=SLOT, type="211_next_day", wave="W1", window=None,
                           capacity=self.capacity, held=held, confirmed=done,
                           remaining=self.capacity - held - done,
                           utilisation=(held + done) / self.capacity)]

    def warmup(self) -> None:
        pass

    def close(self) -> None:
        pass


def order(**changes) -> dict:
    """A valid order as JSON."""
    body = {"id": "O1", "city": "beijing", "submitted_at": "2026-12-01T21:15:00",
            "payment": "prepaid", "paid_at": "2026-12-01T21:16:00", "location": [39.99, 116.47],
            "weight_kg": 2.5, "volume_m3": 0.01, "skus": ["SKU-1", "SKU-2"]}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def auth(role: str = ORDER_SYSTEM) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[role]}"}


@pytest.fixture
def fake() -> FakeService:
    return FakeService()


@pytest.fixture
def client(fake) -> TestClient:
    keys = KeyStore.from_mapping({key: role for role, key in KEYS.items()})
    return TestClient(create_app(fake, keys, max_body_bytes=4_000, max_items=5, max_quotes=3),
                      raise_server_exceptions=False)


def hold(client, key="K1", **changes):
    body = {"order": order(), "slot": SLOT, **changes}
    return client.post("/v1/reservations", json=body, headers={**auth(), "Idempotency-Key": key})


def test_quote_one_order_returns_every_slot(client, fake):
    r = client.post("/v1/quotes", json=order(), headers=auth())
    assert r.status_code == 200, r.text
    [result] = r.json()["results"]
    assert result["order_id"] == "O1"
    first, timed, refused = result["slots"]
    assert first == {"slot": SLOT, "type": "211_next_day", "offered": True, "reasons": [],
                     "deadline": "2026-12-02T15:00:00", "window": None, "station": "BJ-WJ",
                     "wave": "W1", "wave_date": "2026-12-02", "pickup_point": None,
                     "carrier": None, "remaining": 3, "marginal_km": 1.25,
                     "marginal_minutes": 4.5}
    assert timed["window"] == {"start": "2026-12-02T14:00:00", "end": "2026-12-02T16:00:00"}
    assert timed["marginal_km"] is None
    assert refused["offered"] is False and refused["reasons"] == ["PAST_CUTOFF"]
    sent = fake.calls[0][1]
    assert sent.location == (39.99, 116.47) and sent.skus == ("SKU-1", "SKU-2")


def test_quote_list_of_orders_keeps_their_order(client):
    r = client.post("/v1/quotes", json=[order(id="A"), order(id="B")], headers=auth())
    assert r.status_code == 200, r.text
    assert [x["order_id"] for x in r.json()["results"]] == ["A", "B"]


@pytest.mark.parametrize("body, field", [
    (order(weight_kg=-1), "order.weight_kg"),
    (order(weight_kg="heavy"), "order.weight_kg"),
    (order(location=[91, 116]), "order.location.0"),
    (order(payment="card"), "order.payment"),
    (order(submitted_at="2026-12-01T21:15:00+08:00"), "order.submitted_at"),
    (order(paid_at="2026-12-01T20:00:00"), "order.paid_at"),
    (order(skus=[]), "order.skus"),
    (order(colour="red"), "order.colour"),
    (order(id=None), "order.id"),
    ([order(), order(volume_m3=None)], "orders.1.volume_m3"),
    ("not an order", "body"),
])
def test_bad_quote_is_422_naming_the_field(client, body, field):
    r = client.post("/v1/quotes", json=body, headers=auth())
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "INVALID" and error["field"] == field and error["message"]


def test_malformed_json_is_422(client):
    headers = {**auth(), "Content-Type": "application/json"}
    r = client.post("/v1/quotes", content=b"{not json", headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID"


def test_undecodable_body_is_422_naming_the_body(client):
    headers = {**auth(), "Content-Type": "application/json"}
    r = client.post("/v1/quotes", content=b'{"id": "\xff\xfe"}', headers=headers)
    assert r.status_code == 422 and r.json()["error"]["field"] == "body"


def test_too_many_quotes_or_items_is_422_too_many(client):
    r = client.post("/v1/quotes", json=[order(id=str(i)) for i in range(4)], headers=auth())
    assert r.status_code == 422 and r.json()["error"] == {
        "code": "TOO_MANY", "message": "4 orders, at most 3 per request", "field": "orders"}
    r = client.post("/v1/quotes", json=[order(), order(skus=[f"S{i}" for i in range(6)])],
                    headers=auth())
    assert r.status_code == 422 and r.json()["error"]["field"] == "orders.1.skus"
    r = hold(client, order=order(skus=[f"S{i}" for i in range(6)]))
    assert r.status_code == 422 and r.json()["error"]["field"] == "order.skus"


def test_body_over_limit_is_413_by_length_and_by_stream(client):
    big = order(skus=["S" * 60] * 70)
    r = client.post("/v1/quotes", json=big, headers=auth())
    assert r.status_code == 413 and r.json()["error"]["code"] == "TOO_LARGE"

    def chunks():
        for _ in range(10):
            yield b" " * 1000

    r = client.post("/v1/quotes", content=chunks(), headers={**auth(),
                                                             "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "TOO_LARGE"


def test_hold_confirm_get_cancel(client, fake):
    r = hold(client, ttl_seconds=60)
    assert r.status_code == 201, r.text
    held = r.json()
    assert held["status"] == "held" and held["slot"] == SLOT and held["idempotency_key"] == "K1"
    assert held["expires_at"] == "2026-12-01T10:01:00" and held["confirmed_at"] is None
    assert fake.calls[-1][3:] == ("K1", 60)
    rid = held["id"]
    r = client.post(f"/v1/reservations/{rid}/confirm", headers=auth())
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    assert r.json()["confirmed_at"] == "2026-12-01T10:05:00"
    r = client.get(f"/v1/reservations/{rid}", headers=auth(DISPATCHER))
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    r = client.delete(f"/v1/reservations/{rid}", headers=auth())
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = client.post(f"/v1/reservations/{rid}/confirm", headers=auth())
    assert r.status_code == 409 and r.json()["error"]["code"] == "CANCELLED"


def test_hold_key_from_body_or_header_and_replay(client):
    body = {"order": order(), "slot": SLOT, "idempotency_key": "K9"}
    first = client.post("/v1/reservations", json=body, headers=auth())
    again = client.post("/v1/reservations", json=body, headers={**auth(), "Idempotency-Key": "K9"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    r = client.post("/v1/reservations", json=body, headers={**auth(), "Idempotency-Key": "other"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "idempotency_key"
    r = client.post("/v1/reservations", json={"order": order(), "slot": SLOT}, headers=auth())
    assert r.status_code == 422 and r.json()["error"]["field"] == "idempotency_key"


def test_ledger_refusals_are_409_or_422_with_the_code(client):
    for n in range(3):
        assert hold(client, key=f"K{n}").status_code == 201
    r = hold(client, key="K3")
    assert r.status_code == 409 and r.json()["error"]["code"] == "SLOT_FULL"
    r = hold(client, key="K0", slot=TIMED)
    assert r.status_code == 409 and r.json()["error"]["code"] == "KEY_REUSED"
    r = hold(client, key="K4", slot="BJ-WJ|2026-12-02|nope|W9")
    assert r.status_code == 422 and r.json()["error"] == {
        "code": "UNKNOWN_SLOT", "message": "no slot 'BJ-WJ|2026-12-02|nope|W9'", "field": "slot"}


def test_unknown_ids_are_404(client):
    for method, path, role in (("POST", "/v1/reservations/R404/confirm", ORDER_SYSTEM),
                               ("DELETE", "/v1/reservations/R404", ORDER_SYSTEM),
                               ("GET", "/v1/reservations/R404", ORDER_SYSTEM),
                               ("GET", "/v1/stations/BJ-NOPE/slots?date=2026-12-02", DISPATCHER),
                               ("GET", "/v1/nothing-here", ADMIN)):
        r = client.request(method, path, headers=auth(role))
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["code"] == "NOT_FOUND"


def test_station_overview(client):
    assert hold(client).status_code == 201
    r = client.get("/v1/stations/BJ-WJ/slots", params={"date": "2026-12-02"},
                   headers=auth(PLANNER))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["station"] == "BJ-WJ" and body["date"] == "2026-12-02"
    assert body["slots"] == [{"slot": SLOT, "type": "211_next_day", "wave": "W1", "window": None,
                              "capacity": 3, "held": 1, "confirmed": 0, "remaining": 2,
                              "utilisation": pytest.approx(1 / 3)}]


@pytest.mark.parametrize("query", ["", "?date=02-12-2026", "?date=2026-13-01"])
def test_station_overview_needs_a_valid_date(client, query):
    r = client.get(f"/v1/stations/BJ-WJ/slots{query}", headers=auth(DISPATCHER))
    assert r.status_code == 422 and r.json()["error"]["field"] == "date"


def test_unexpected_error_is_500_without_a_stack_trace(client, fake, caplog):
    fake.fail = RuntimeError("secret internals at /srv/slots/service.py line 42")
    r = client.post("/v1/quotes", json=order(), headers=auth())
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "INTERNAL", "message": "internal error"}}
    assert "secret" not in r.text and "Traceback" not in r.text
    assert any("unhandled error" in rec.getMessage() for rec in caplog.records)


def test_service_value_error_is_422(client, fake):
    fake.fail = ValueError("city: unknown city 'atlantis'")
    r = client.post("/v1/quotes", json=order(), headers=auth())
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID"
    assert r.json()["error"]["field"] == "city" and "atlantis" in r.json()["error"]["message"]


def test_value_error_not_naming_a_field_is_a_500(client, fake):
    fake.fail = ValueError("list.remove(x): x not in list")
    r = client.delete("/v1/reservations/R1", headers=auth())
    assert r.status_code == 500 and r.json()["error"]["code"] == "INTERNAL"
    assert "list" not in r.text


def test_healthz_needs_no_key(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_metrics_expose_latency_and_slot_utilisation(client):
    client.post("/v1/quotes", json=order(), headers=auth())
    hold(client)
    client.get("/v1/stations/BJ-WJ/slots?date=2026-12-02", headers=auth(DISPATCHER))
    client.get("/v1/reservations/R404", headers=auth())
    assert client.get("/metrics").status_code == 401
    r = client.get("/metrics", headers=auth(PLANNER))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert ('slot211_http_request_duration_seconds_count{method="POST",route="/v1/quotes",'
            'status="200"} 1.0') in text
    assert 'route="/v1/reservations/{reservation_id}",status="404"' in text
    assert (f'slot211_slot_utilisation{{slot="{SLOT}",station="BJ-WJ",type="211_next_day"}} '
            f'{1 / 3}') in text
    assert (f'slot211_slot_remaining{{slot="{SLOT}",station="BJ-WJ",type="211_next_day"}} '
            '2.0') in text


def test_openapi_schema_is_served(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert set(paths) >= {"/v1/quotes", "/v1/reservations", "/v1/reservations/{reservation_id}",
                          "/v1/reservations/{reservation_id}/confirm",
                          "/v1/stations/{station_id}/slots", "/healthz", "/metrics"}
