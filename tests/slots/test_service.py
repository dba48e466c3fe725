"""The slot service: every slot quoted with reasons and marginal costs, holds re-validated and
checked against the live routes inside the ledger's lock, replicas kept consistent through it."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import date, datetime

import pytest

from slots.ledger import open_ledger
from slots.ledger.base import LedgerError, Status
from slots.model import Order, PromiseType, Reason
from slots.order_json import order_from_dict, order_to_dict
from slots.service import SlotService
from slots.slot_ids import parse_slot
from warehouses import VehicleType

from .fake_ledger import FakeLedger
from .ledger_helpers import pg_test_schema, pg_unreachable
from .sample_network import HOME, NOWHERE, OUTSIDE_211, at, make_network, north_of

D0 = "2026-03-02"
SAME_W14 = f"S1|{D0}|211_same_day|W14"
BY_PP = (40.009, 116.499)  # inside the 211 area, 1.8 km from PP_FAR
TINY = (VehicleType("van", 1, 800, 4, parcels=3, shift=(7 * 60, 23 * 60), speed_kmh=25.0,
                    skills=("pos",)),)


def order(i: int = 1, location=HOME, clock: datetime | None = None, **changes) -> Order:
    o = Order(f"o{i}", "BJ", clock or at(7), "cod", location, 2.0, 0.01, skus=("A",))
    return replace(o, **changes)


def near(i: int) -> tuple[float, float]:
    return north_of(HOME, 0.05 * (i % 20))


@pytest.fixture
def service():
    svc = SlotService(make_network(), FakeLedger(), reoptimise_every=None)
    yield svc
    svc.close()


def tiny_service(ledger=None, **kwargs) -> SlotService:
    """One van with room for three parcels a wave, and a wave quota that never binds first."""
    return SlotService(make_network(fleet=TINY, wave_capacity=100), ledger or FakeLedger(),
                       reoptimise_every=None, **kwargs)


def by_type(quotes) -> dict:
    out: dict = {}
    for q in quotes:
        out.setdefault(q.type, []).append(q)
    return out


def test_quote_returns_every_slot_type_with_ids_and_costs(service):
    quotes = service.quote(order(location=BY_PP), now=at(7))
    kinds = by_type(quotes)
    assert set(kinds) == {PromiseType.SAME_DAY, PromiseType.NEXT_DAY, PromiseType.TIMED,
                          PromiseType.PICKUP_POINT, PromiseType.THIRD_PARTY}
    assert [q.type for q in quotes][:2] == [PromiseType.SAME_DAY, PromiseType.NEXT_DAY]
    same = kinds[PromiseType.SAME_DAY][0]
    assert same.offered and same.slot == SAME_W14 and same.deadline == at(23)
    assert same.marginal_km > 0 and same.marginal_minutes > 0 and same.remaining > 0
    timed = kinds[PromiseType.TIMED]
    assert len(timed) >= 2 and all(q.offered for q in timed)
    assert {q.slot for q in timed} >= {f"S1|{D0}|timed_window|W18|19:00-21:00"}
    assert all(q.window is not None and q.deadline == q.window[1] for q in timed)
    pickup = kinds[PromiseType.PICKUP_POINT][0]
    assert pickup.offered and pickup.slot == f"S1|{D0}|pickup_point|W14|PP_FAR"
    assert pickup.pickup_point == "PP_FAR" and pickup.marginal_km > 0
    third = kinds[PromiseType.THIRD_PARTY][0]
    assert third.offered and third.slot == "carrier|2026-03-05|third_party|ZTO"
    assert third.marginal_km is None and third.marginal_minutes is None
    for q in quotes:
        parsed = parse_slot(q.slot)
        assert parsed.id == q.slot and parsed.type == q.type


def test_quote_not_offered_carries_reasons(service):
    kinds = by_type(service.quote(order(location=OUTSIDE_211), now=at(7)))
    assert kinds[PromiseType.SAME_DAY][0].reasons == (Reason.OUTSIDE_211_AREA,)
    assert kinds[PromiseType.SAME_DAY][0].slot == "" and kinds[PromiseType.SAME_DAY][0].remaining is None
    nowhere = by_type(service.quote(order(location=NOWHERE), now=at(7)))
    assert Reason.OUT_OF_SERVICE_AREA in nowhere[PromiseType.TIMED][0].reasons
    late = by_type(service.quote(order(clock=at(12)), now=at(12)))
    assert late[PromiseType.SAME_DAY][0].reasons == (Reason.PAST_CUTOFF,)
    returns = service.quote(order(kind="return"), now=at(7))
    assert [q.type for q in returns] == [PromiseType.RETURN] and returns[0].offered


def test_an_exchange_is_quoted_and_held_on_door_slots_only(service):
    o = order(kind="exchange", payment="prepaid", paid_at=at(7), location=BY_PP)
    kinds = by_type(service.quote(o, now=at(7)))
    assert kinds[PromiseType.SAME_DAY][0].offered and kinds[PromiseType.SAME_DAY][0].slot == SAME_W14
    for kind in (PromiseType.PICKUP_POINT, PromiseType.THIRD_PARTY):
        assert kinds[kind][0].reasons == (Reason.DOOR_EXCHANGE_ONLY,) and not kinds[kind][0].offered
    service.hold(o, SAME_W14, "x1", now=at(7))
    problem, _ = service._plan("S1", date(2026, 3, 2), "W14").to_problem()
    (stop,) = problem.stops
    assert dict(stop.delivery) == dict(stop.pickup) == {"weight": 2.0, "volume": 0.01,
                                                        "parcels": 1.0}
    with pytest.raises(LedgerError) as e:
        service.hold(o, f"S1|{D0}|pickup_point|W14|PP_FAR", "x2", now=at(7))
    assert e.value.code == "NOT_OFFERED"


@pytest.mark.parametrize("store", ["fake", "sqlite"])
def test_a_pickup_point_sells_its_parcels_not_its_orders(store, tmp_path):
    """PP_FAR takes 3 parcels a day: after a 2-parcel order only a 1-parcel order is offered
    there (a 2-parcel one goes to the next point), and the ledger stores each order's parcels,
    so quotes and holds agree with the day plan."""
    ledger = FakeLedger() if store == "fake" else open_ledger(f"sqlite:///{tmp_path / 'l.db'}")
    svc = SlotService(make_network(pickup_capacity=3), ledger, reoptimise_every=None)
    slot = f"S1|{D0}|pickup_point|W14|PP_FAR"

    def pp(o: Order):
        return by_type(svc.quote(o, now=at(7)))[PromiseType.PICKUP_POINT][0]

    def prepaid(i: int, parcels: int) -> Order:
        return order(i, location=BY_PP, payment="prepaid", paid_at=at(7), parcels=parcels)

    try:
        first = pp(prepaid(1, 2))
        assert (first.slot, first.remaining) == (slot, 1)
        assert svc.hold(prepaid(1, 2), slot, "k1", now=at(7)).units == 2
        assert pp(prepaid(2, 2)).pickup_point != "PP_FAR"
        with pytest.raises(LedgerError) as e:
            svc.hold(prepaid(2, 2), slot, "k2", now=at(7))
        assert e.value.code == "SLOT_FULL" and "pickup_point:PP_FAR" in e.value.message
        one = pp(prepaid(3, 1))
        assert (one.slot, one.remaining) == (slot, 1)
        svc.hold(prepaid(3, 1), slot, "k3", now=at(7))
        assert pp(prepaid(4, 1)).pickup_point != "PP_FAR"
        (status,) = [x for x in svc.overview("S1", date(2026, 3, 2), now=at(7)) if x.slot == slot]
        assert (status.held, status.remaining) == (2, 0)
    finally:
        svc.close()
        if store != "fake":
            ledger.close()


def test_cash_on_delivery_is_sold_only_where_a_pos_vehicle_can_take_it():
    plain = (replace(TINY[0], skills=()),)
    svc = SlotService(make_network(fleet=plain, wave_capacity=100), FakeLedger(),
                      reoptimise_every=None)
    try:
        same = by_type(svc.quote(order(), now=at(7)))[PromiseType.SAME_DAY][0]
        assert not same.offered and same.reasons == (Reason.NO_ROUTE_ROOM,)
        prepaid = order(payment="prepaid", paid_at=at(7))
        assert by_type(svc.quote(prepaid, now=at(7)))[PromiseType.SAME_DAY][0].offered
        with pytest.raises(LedgerError) as e:
            svc.hold(order(), SAME_W14, "c1", now=at(7))
        assert e.value.code == "INFEASIBLE"
        assert svc.hold(prepaid, SAME_W14, "p1", now=at(7)).status == Status.HELD
    finally:
        svc.close()


def test_bad_order_fields_are_named(service):
    with pytest.raises(ValueError, match="weight_kg"):
        service.quote(order(weight_kg=-1.0))
    with pytest.raises(ValueError, match="location"):
        service.quote(order(location=(91.0, 0.0)))
    with pytest.raises(ValueError, match="payment"):
        service.hold(order(payment="card"), SAME_W14, "k")
    with pytest.raises(ValueError, match="key"):
        service.hold(order(), SAME_W14, "", now=at(7))


def test_hold_confirm_cancel_move_the_live_plan(service):
    o = order()
    res = service.hold(o, SAME_W14, "k1", now=at(7))
    assert res.status == Status.HELD and res.expires_at == at(7, 15)
    assert order_from_dict(res.payload["order"]) == o
    plan = service._plans[("S1", D0, "W14")]
    assert "key:k1" in plan
    assert service.hold(o, SAME_W14, "k1", now=at(7)) == res, "a replay returns the same hold"
    assert len(plan) == 1
    with pytest.raises(LedgerError) as err:
        service.hold(order(2), SAME_W14, "k1", now=at(7))
    assert err.value.code == "KEY_REUSED"
    assert service.confirm(res.id, now=at(7, 5)).status == Status.CONFIRMED
    assert service.get(res.id).status == Status.CONFIRMED
    statuses = {s.slot: s for s in service.overview("S1", date(2026, 3, 2), now=at(7, 6))}
    assert statuses[SAME_W14].confirmed == 1 and statuses[SAME_W14].held == 0
    assert statuses[SAME_W14].remaining == statuses[SAME_W14].capacity - 1
    assert service.cancel(res.id, now=at(7, 6)).status == Status.CANCELLED
    assert "key:k1" not in plan
    with pytest.raises(LedgerError) as err:
        service.confirm(res.id, now=at(7, 7))
    assert err.value.code == "CANCELLED"
    with pytest.raises(LedgerError) as err:
        service.get("nope")
    assert err.value.code == "NOT_FOUND"


def test_every_offered_slot_can_be_held(service):
    o = order(location=BY_PP)
    offered = [q for q in service.quote(o, now=at(7)) if q.offered]
    for i, q in enumerate(offered):
        res = service.hold(replace(o, id=f"o{i}"), q.slot, f"k{i}", now=at(7))
        assert res.slot == q.slot
    assert len(offered) >= 6


@pytest.mark.parametrize("slot", [
    "garbage", "S1|2026-03-02|211_same_day", "S1|2026-13-02|211_same_day|W14",
    "S1|2026-03-02|teleport|W14", "S9|2026-03-02|211_same_day|W14",
    "S1|2026-03-02|211_same_day|W99", "S1|2026-03-02|timed_window|W18|19-21",
    "S1|2026-03-02|timed_window|W18", "S1|2026-03-02|pickup_point|W14|PP_NOPE",
    "carrier|2026-03-05|third_party|NOPE", "S1|2026-03-02|211_same_day|W14|extra",
])
def test_unknown_slots(service, slot):
    with pytest.raises(LedgerError) as err:
        service.hold(order(), slot, "k", now=at(7))
    assert err.value.code == "UNKNOWN_SLOT"


@pytest.mark.parametrize("slot", [
    f"S1|{D0}|211_same_day|W08",  # leaves before the stock is sorted
    f"S1|{D0}|211_next_day|W14",  # the next-day promise rides tomorrow's waves
    f"S1|{D0}|timed_window|W18|10:00-12:00",  # W18 cannot keep a morning window
    f"S1|{D0}|pickup_point|W14|PP_NEAR",  # the point is too far from this address
    f"S1|{D0}|return_pickup|W14",  # not a return
    "carrier|2026-03-04|third_party|ZTO",  # the carrier's day is the 5th
])
def test_not_offered_slots(service, slot):
    with pytest.raises(LedgerError) as err:
        service.hold(order(), slot, "k", now=at(7))
    assert err.value.code == "NOT_OFFERED"
    assert service.ledger.usage("S1", D0, at(7)) == {}


def test_not_offered_replay_still_returns_the_hold(service):
    res = service.hold(order(), SAME_W14, "k", now=at(7))
    later = at(14, 30)  # W14 has left: the slot is no longer offered, but the key is known
    with pytest.raises(LedgerError) as err:
        service.hold(order(2), SAME_W14, "k2", now=later)
    assert err.value.code == "NOT_OFFERED"
    assert service.hold(order(), SAME_W14, "k", now=later).id == res.id


def test_departed_waves_are_passed_over(service):
    same = service.quote(order(), now=at(14, 30))[0]
    assert same.offered and same.wave == "W18"
    assert service.quote(order(), now=at(18, 30))[0].reasons == (Reason.NO_WAVE_IN_TIME,)


def test_routes_full_moves_the_quote_to_the_next_wave():
    svc = tiny_service()
    for i in range(3):
        svc.hold(order(i, near(i)), SAME_W14, f"k{i}", now=at(7))
    same = svc.quote(order(9, near(9)), now=at(7))[0]
    assert same.offered and same.wave == "W18"
    with pytest.raises(LedgerError) as err:
        svc.hold(order(9, near(9)), SAME_W14, "k9", now=at(7))
    assert err.value.code == "INFEASIBLE"
    for i in range(3, 6):
        svc.hold(order(i, near(i)), f"S1|{D0}|211_same_day|W18", f"k{i}", now=at(7))
    same = svc.quote(order(9, near(9)), now=at(7))[0]
    assert not same.offered and same.reasons == (Reason.NO_ROUTE_ROOM,)


def test_quotas_cap_slots_and_the_remaining_count():
    svc = tiny_service(quotas={f"S1|{D0}|211_same_day": 1, "S1": 50})
    q = svc.quote(order(1), now=at(7))[0]
    assert q.slot == SAME_W14 and q.remaining == 1
    assert by_type(svc.quote(order(1), now=at(7)))[PromiseType.TIMED][0].remaining == 50
    svc.hold(order(1), SAME_W14, "k1", now=at(7))
    q = svc.quote(order(2, near(2)), now=at(7))[0]
    assert q.offered and q.wave == "W18" and q.remaining == 1
    with pytest.raises(LedgerError) as err:
        svc.hold(order(2, near(2)), SAME_W14, "k2", now=at(7))
    assert err.value.code == "SLOT_FULL"
    svc.hold(order(2, near(2)), f"S1|{D0}|211_same_day|W18", "k2", now=at(7))
    q = svc.quote(order(3, near(3)), now=at(7))[0]
    assert not q.offered and q.reasons == (Reason.STATION_FULL,)


def test_wave_capacity_is_shared_by_the_waves_slots():
    svc = SlotService(make_network(wave_capacity=2), FakeLedger(), reoptimise_every=None)
    svc.hold(order(1), SAME_W14, "k1", now=at(7))
    assert svc.quote(order(2, near(2)), now=at(7))[0].remaining == 1
    svc.hold(order(2, near(2)), SAME_W14, "k2", now=at(7))
    with pytest.raises(LedgerError) as err:
        svc.hold(order(3, near(3)), SAME_W14, "k3", now=at(7))
    assert err.value.code == "SLOT_FULL"
    assert svc.quote(order(3, near(3)), now=at(7))[0].wave == "W18"


def test_expired_holds_leave_the_live_plan():
    svc = tiny_service()
    for i in range(3):
        svc.hold(order(i, near(i)), SAME_W14, f"k{i}", now=at(7), ttl_seconds=60)
    assert svc.quote(order(9, near(9)), now=at(7))[0].wave == "W18"
    later = svc.quote(order(9, near(9)), now=at(7, 2))[0]
    assert later.wave == "W14" and len(svc._plans[("S1", D0, "W14")]) == 0


def test_second_replica_rebuilds_its_plan_from_the_ledger():
    ledger = FakeLedger()
    a, b = tiny_service(ledger), tiny_service(ledger)
    for i in range(2):
        a.hold(order(i, near(i)), SAME_W14, f"a{i}", now=at(7))
    # b has never seen those holds: its check must rebuild the plan from their payloads.
    assert ("S1", D0, "W14") not in b._plans
    b.hold(order(2, near(2)), SAME_W14, "b2", now=at(7))
    plan_b = b._plans[("S1", D0, "W14")]
    assert sorted(plan_b.members) == ["key:a0", "key:a1", "key:b2"]
    assert plan_b.members["key:a0"].order == order(0, near(0))
    with pytest.raises(LedgerError) as err:
        a.hold(order(3, near(3)), SAME_W14, "a3", now=at(7))  # a's own plan is stale: 2 of 3
    assert err.value.code == "INFEASIBLE"
    assert len(a._plans[("S1", D0, "W14")]) == 3
    assert len(ledger.active("S1", D0, "W14", at(7))) == 3
    b.cancel(ledger.active("S1", D0, "W14", at(7))[0].id, now=at(7, 1))
    assert a.quote(order(3, near(3)), now=at(7, 2))[0].wave == "W14", "a syncs on the count"


def test_third_party_holds_and_carrier_quota():
    svc = SlotService(make_network(), FakeLedger(), reoptimise_every=None,
                      quotas={"carrier": 1})
    slot = "carrier|2026-03-05|third_party|ZTO"
    q = by_type(svc.quote(order(), now=at(7)))[PromiseType.THIRD_PARTY][0]
    assert q.slot == slot and q.remaining == 1
    res = svc.hold(order(), slot, "k", now=at(7))
    assert res.station == "carrier" and res.wave == "ZTO"
    q = by_type(svc.quote(order(2), now=at(7)))[PromiseType.THIRD_PARTY][0]
    assert not q.offered and q.remaining == 0
    with pytest.raises(LedgerError) as err:
        svc.hold(order(2), slot, "k2", now=at(7))
    assert err.value.code == "SLOT_FULL"


def test_order_json_round_trip_and_errors():
    o = order(payment="prepaid", paid_at=at(7, 3), parcels=2, member_tier=3, wants="timed_window")
    assert order_from_dict(order_to_dict(o)) == o
    d = order_to_dict(o)
    for field, value in [("weight_kg", "x"), ("submitted_at", "yesterday"), ("location", [1]),
                         ("parcels", 0), ("kind", "gift"), ("colour", "red")]:
        with pytest.raises(ValueError, match=field):
            order_from_dict({**d, field: value})
    with pytest.raises(ValueError, match="city"):
        order_from_dict({k: v for k, v in d.items() if k != "city"})


def test_background_reoptimisation_keeps_plans_feasible():
    svc = SlotService(make_network(), FakeLedger(), reoptimise_every=None, reoptimise_seconds=0.5)
    for i in range(12):
        svc.hold(order(i, north_of(HOME, 0.12 * i)), SAME_W14, f"k{i}", now=at(7))
    plan = svc._plans[("S1", D0, "W14")]
    before = plan.totals()
    svc._reoptimise_all()  # solves in the worker process
    after = plan.totals()
    assert after["cost"] <= before["cost"] and after["orders"] == 12 and after["unplaced"] == 0
    assert svc._solved[("S1", D0, "W14")] == plan.version
    pids = [w.pid for w in svc._pool._processes.values()]
    assert pids and not any(gone(pid) for pid in pids)
    svc.close()
    deadline = time.monotonic() + 10
    while not all(gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(gone(pid) for pid in pids), "close() leaves no worker process behind"


def gone(pid: int) -> bool:
    """Whether a process has exited (reaped, or a zombie), read from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_warmup_and_close():
    svc = SlotService(make_network(), FakeLedger(), reoptimise_every=3600)
    assert svc.warmup() >= 0
    svc.close()
    assert not svc._thread.is_alive()


# -- against the real ledgers (SQLite; PostgreSQL when the server answers) ----------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    why = pg_unreachable()
    if why:
        pytest.skip(why)
    with pg_test_schema() as url:
        yield url


def test_ledger_hold_confirm_cancel_and_replicas(ledger_url):
    la, lb = open_ledger(ledger_url), open_ledger(ledger_url)
    a, b = tiny_service(la), tiny_service(lb)
    try:
        r0 = a.hold(order(0, near(0)), SAME_W14, "a0", now=at(7))
        assert a.hold(order(0, near(0)), SAME_W14, "a0", now=at(7)) == r0
        b.hold(order(1, near(1)), SAME_W14, "b1", now=at(7))
        a.hold(order(2, near(2)), SAME_W14, "a2", now=at(7))
        for svc in (a, b):
            with pytest.raises(LedgerError) as err:
                svc.hold(order(3, near(3)), SAME_W14, f"x{id(svc)}", now=at(7))
            assert err.value.code == "INFEASIBLE"
        assert a.confirm(r0.id, now=at(7, 1)).status == Status.CONFIRMED
        assert b.cancel(r0.id, now=at(7, 2)).status == Status.CANCELLED
        assert sorted(b._plans[("S1", D0, "W14")].members) == ["key:a2", "key:b1"]
        r3 = a.hold(order(3, near(3)), SAME_W14, "a3", now=at(7, 3))
        assert r3.status == Status.HELD
    finally:
        for s in (a, b):
            s.close()
        la.close()
        lb.close()


def test_concurrent_holds_never_break_the_routes(ledger_url):
    ledgers = [open_ledger(ledger_url) for _ in range(2)]
    replicas = [tiny_service(ledger) for ledger in ledgers]
    won, errors = [], []

    def client(i: int) -> None:
        svc = replicas[i % 2]
        try:
            won.append(svc.hold(order(i, near(i)), SAME_W14, f"c{i}", now=at(7)))
        except LedgerError as exc:
            errors.append(exc.code)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert len(won) == 3 and sorted(set(errors)) == ["INFEASIBLE"]
        assert len(ledgers[0].active("S1", D0, "W14", at(7))) == 3
    finally:
        for s in replicas:
            s.close()
        for ledger in ledgers:
            ledger.close()
