"""The dispatcher's HTTP API end to end, on a SQLite ledger filled through the slot service: a plan
job runs to done with progress and KPIs; its routes come as JSON, CSV and GeoJSON (by query or
Accept) holding every confirmed order once; events make new versions, the old ones stay readable;
ETAs follow the latest version; errors are 404, 422 naming the field, 403 by role, 409 for a job
not done; and the map page draws the routes in headless Chromium."""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import ADMIN, DISPATCHER, ORDER_SYSTEM, PLANNER, KeyStore
from slots.dispatch.service import Dispatcher
from slots.ledger import open_ledger
from slots.service import SlotService
from tests.api.browser import draw, is_png
from tests.api.test_http_app import KEYS
from tests.slots.dispatch.test_service import (DAY, STATION, TIME_LIMIT, at, book, check_routes,
                                               network)

CSV_HEADER = ["wave", "vehicle", "vehicle_type", "sequence", "stop", "kind", "orders", "lat",
              "lon", "arrival", "start", "departure", "status", "due", "on_time", "reason"]
PHASES = ["queued", "loading", "solving", "writing", "done"]


def key(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[role]}"}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    ledger = open_ledger(f"sqlite:///{tmp_path_factory.mktemp('plans') / 'ledger.db'}")
    bookings = book(ledger)
    d = Dispatcher(network(), ledger)
    d.start()
    keys = KeyStore.from_mapping({k: role for role, k in KEYS.items()})
    app = create_app(SlotService(network(), ledger, reoptimise_every=None), keys, dispatcher=d)
    client = TestClient(app, raise_server_exceptions=False)
    yield SimpleNamespace(client=client, d=d, ledger=ledger, bookings=bookings)
    d.close()
    ledger.close()


def plan_and_wait(client: TestClient, **extra) -> tuple[dict, list[dict]]:
    """POST a plan job and poll it until it ends; the final job and every state seen."""
    r = client.post("/v1/plans", json={"station": STATION, "date": DAY.isoformat(),
                                       "time_limit": TIME_LIMIT, **extra}, headers=key(DISPATCHER))
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["id"].startswith("plan_") and job["status"] in ("queued", "running")
    assert job["version"] == 0 and job["kpis"] is None
    seen = [job]
    end = time.monotonic() + 60
    while seen[-1]["status"] in ("queued", "running"):
        assert time.monotonic() < end, seen[-1]
        time.sleep(0.05)
        r = client.get(f"/v1/plans/{job['id']}", headers=key(PLANNER))
        assert r.status_code == 200, r.text
        seen.append(r.json())
    return seen[-1], seen


@pytest.fixture(scope="module")
def planned(env):
    final, seen = plan_and_wait(env.client)
    assert final["status"] == "done", final["error"]
    routes = env.client.get(f"/v1/plans/{final['id']}/routes", headers=key(DISPATCHER))
    assert routes.status_code == 200
    return SimpleNamespace(id=final["id"], job=final, seen=seen, routes=routes.json())


@pytest.fixture(scope="module")
def replanned(env, planned):
    """A second job, re-planned twice over HTTP: a W1 vehicle breaks down, then another W1
    vehicle reports its stops up to a pickup point served."""
    c = env.client
    final, _ = plan_and_wait(c, seed=1)
    assert final["status"] == "done", final["error"]
    job = final["id"]
    v1 = c.get(f"/v1/plans/{job}/routes", headers=key(DISPATCHER)).json()
    w1 = [r for r in v1["routes"] if r["wave"] == "W1"]
    carrier = next(r for r in w1 if any(s["kind"] == "pickup_point" for s in r["stops"]))
    broken = next(r for r in w1 if r["vehicle"] != carrier["vehicle"] and len(r["stops"]) >= 2)
    down = {"type": "vehicle_unavailable", "vehicle": broken["vehicle"],
            "at": broken["stops"][0]["arrival"]}
    first = c.post(f"/v1/plans/{job}/events", json={"events": [down]}, headers=key(DISPATCHER))
    assert first.status_code == 200, first.text
    v2 = c.get(f"/v1/plans/{job}/routes", headers=key(DISPATCHER)).json()

    route = next(r for r in v2["routes"]
                 if r["vehicle"] == carrier["vehicle"] and r["wave"] == "W1")
    last = max(s["sequence"] for s in route["stops"] if s["kind"] == "pickup_point")
    target = route["stops"][last - 1]
    served_at = max(at(target["departure"]), at(down["at"])) + timedelta(minutes=1)
    after_target = [s for s in route["stops"] if s["sequence"] > last]
    watched = after_target[0]["orders"][0] if after_target else None
    eta_before = (c.get(f"/v1/orders/{watched}/eta", headers=key(ORDER_SYSTEM)).json()
                  if watched else None)
    serve = {"type": "stops_served", "vehicle": carrier["vehicle"], "stop": target["stop"],
             "at": served_at.isoformat()}
    second = c.post(f"/v1/plans/{job}/events", json={"events": [serve]}, headers=key(DISPATCHER))
    assert second.status_code == 200, second.text
    v3 = c.get(f"/v1/plans/{job}/routes", headers=key(DISPATCHER)).json()
    return SimpleNamespace(id=job, v1=v1, v2=v2, v3=v3, down=down, serve=serve,
                           first=first.json(), second=second.json(), broken=broken,
                           carrier=route, last=last, target=target, served_at=served_at,
                           watched=watched, eta_before=eta_before)


# -- plan jobs -----------------------------------------------------------------------------------

def test_a_plan_job_runs_to_done_with_progress_and_kpis(env, planned):
    job, seen = planned.job, planned.seen
    assert (job["station"], job["date"], job["wave"]) == (STATION, DAY.isoformat(), None)
    assert job["progress"] == {"phase": "done", "percent": 100.0,
                               "best_cost": job["kpis"]["cost"]}
    assert (job["error"], job["attempts"], job["version"]) == (None, 1, 1)
    phases = [s["progress"]["phase"] for s in seen]
    assert all(p in PHASES for p in phases), phases
    assert [PHASES.index(p) for p in phases] == sorted(PHASES.index(p) for p in phases)
    percents = [s["progress"]["percent"] for s in seen]
    assert percents == sorted(percents) and all(0 <= p <= 100 for p in percents)
    for s in seen:  # a job reads the same whoever asks, and is running until it is done
        assert s["status"] == {"queued": "queued", "done": "done"}.get(
            s["progress"]["phase"], "running")
    assert at(job["updated_at"]) >= at(job["created_at"])
    # the KPIs count what the routes hold
    view = planned.routes
    kpis = job["kpis"]
    stops = sum(len(r["stops"]) for r in view["routes"])
    assert kpis["routed"] == stops and kpis["unassigned"] == len(view["unassigned"])
    assert kpis["stops"] == stops + len(view["unassigned"]) and kpis["served"] == 0
    assert view["totals"] == kpis


def test_vehicles_used_counts_each_vehicle_once(planned):
    routes = planned.routes["routes"]
    assert len(routes) > len({r["vehicle"] for r in routes})  # a vehicle drove two waves
    assert planned.job["kpis"]["vehicles_used"] == len({r["vehicle"] for r in routes})


def test_routes_as_json_hold_every_confirmed_order_once(env, planned):
    view = planned.routes
    assert (view["job"], view["station"], view["day"], view["version"]) == (
        planned.id, STATION, DAY.isoformat(), 1)
    check_routes(view, env.bookings)
    assert all(r["status"] == "planned" for r in view["routes"])
    again = env.client.get(f"/v1/plans/{planned.id}/routes?format=json", headers=key(PLANNER))
    assert again.headers["content-type"].startswith("application/json")
    assert again.json() == view


def _csv_rows(text: str) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    assert header == CSV_HEADER
    return [dict(zip(header, row, strict=True)) for row in reader]


def test_routes_as_csv_by_query_and_by_accept(env, planned):
    path = f"/v1/plans/{planned.id}/routes"
    by_query = env.client.get(path + "?format=csv", headers=key(PLANNER))
    by_accept = env.client.get(path, headers={**key(PLANNER), "Accept": "text/csv"})
    for r in (by_query, by_accept):
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert by_query.text == by_accept.text
    rows = _csv_rows(by_query.text)
    view = planned.routes
    stops = [(r, s) for r in view["routes"] for s in r["stops"]]
    assert len(rows) == len(stops) + len(view["unassigned"])
    for row, (r, s) in zip(rows, stops):
        assert (row["wave"], row["vehicle"], row["vehicle_type"], int(row["sequence"]),
                row["stop"], row["kind"]) == (r["wave"], r["vehicle"], r["vehicle_type"],
                                              s["sequence"], s["stop"], s["kind"])
        assert row["orders"].split(";") == s["orders"]
        assert [float(row["lat"]), float(row["lon"])] == s["location"]
        assert at(row["start"]) == at(s["start"]) and row["status"] == "planned"
        assert row["on_time"] == ("" if s["on_time"] is None else str(s["on_time"]).lower())
    for row in rows[len(stops):]:
        assert row["vehicle"] == "" and row["status"] == "unassigned" and row["reason"]
    orders = [o for row in rows for o in row["orders"].split(";")]
    assert sorted(orders) == sorted(env.bookings)


def test_routes_as_geojson_draw_each_route_from_and_back_to_the_station(env, planned):
    path = f"/v1/plans/{planned.id}/routes"
    by_query = env.client.get(path + "?format=geojson", headers=key(DISPATCHER))
    by_accept = env.client.get(path, headers={**key(DISPATCHER),
                                              "Accept": "application/geo+json"})
    assert by_query.status_code == by_accept.status_code == 200
    assert by_query.headers["content-type"].startswith("application/geo+json")
    assert by_query.json() == by_accept.json()
    fc = by_query.json()
    assert fc["type"] == "FeatureCollection"
    view = planned.routes
    lat, lon = network().stations[STATION].location
    lines = [f for f in fc["features"] if f["geometry"]["type"] == "LineString"]
    points = [f for f in fc["features"] if f["geometry"]["type"] == "Point"]
    assert len(lines) == len(view["routes"]) >= 1
    for line, r in zip(lines, view["routes"]):
        coords = line["geometry"]["coordinates"]
        assert coords[0] == coords[-1] == [lon, lat]  # GeoJSON is [lon, lat]
        assert coords[1:-1] == [[s["location"][1], s["location"][0]] for s in r["stops"]]
        assert line["properties"]["vehicle"] == r["vehicle"]
    assert len(points) == sum(len(r["stops"]) for r in view["routes"]) + len(view["unassigned"])
    for p in points:
        x, y = p["geometry"]["coordinates"]
        assert 115.5 < x < 117.5 and 39.4 < y < 41.1, (x, y)  # Beijing, lon first
    assert sorted(o for p in points for o in p["properties"]["orders"]) == sorted(env.bookings)


@pytest.mark.parametrize("accept", ["application/xml", "text/html", "image/png"])
def test_an_accept_it_cannot_answer_is_406(env, planned, accept):
    r = env.client.get(f"/v1/plans/{planned.id}/routes", headers={**key(PLANNER),
                                                                  "Accept": accept})
    assert r.status_code == 406, r.text
    assert r.json()["error"]["code"] == "NOT_ACCEPTABLE"


def test_an_unknown_format_is_422(env, planned):
    r = env.client.get(f"/v1/plans/{planned.id}/routes?format=xlsx", headers=key(PLANNER))
    assert r.status_code == 422 and r.json()["error"]["field"] == "format"


def test_a_new_plan_has_one_version(env, planned):
    r = env.client.get(f"/v1/plans/{planned.id}/versions", headers=key(PLANNER))
    assert r.status_code == 200
    (v,) = r.json()
    assert v["version"] == 1 and v["cause"] == {"type": "plan"} and v["changes"] == {}


# -- events and versions -------------------------------------------------------------------------

def test_a_breakdown_makes_version_2_and_version_1_stays(env, replanned):
    c, job, gone = env.client, replanned.id, replanned.broken["vehicle"]
    res = replanned.first
    assert res["job"] == job and res["version"] == 2
    assert "W1" in res["changes"]["waves"]
    v2 = replanned.v2
    assert v2["version"] == 2
    check_routes(v2, env.bookings)
    for r in v2["routes"]:  # the vehicle has nothing left to do, in any wave
        if r["vehicle"] == gone:
            assert r["status"] == "unavailable" and all(s["status"] == "served"
                                                        for s in r["stops"])
    # each of its W1 stops that another W1 vehicle took is listed as moved to that vehicle
    moved = {m["stop"]: m for m in res["changes"]["waves"]["W1"]["moved"]}
    now_on = {s["stop"]: r["vehicle"] for r in v2["routes"] if r["wave"] == "W1"
              for s in r["stops"]}
    for s in replanned.broken["stops"]:
        if s["stop"] in now_on:
            assert now_on[s["stop"]] != gone
            assert moved[s["stop"]]["from"] == gone and moved[s["stop"]]["to"] == now_on[s["stop"]]
    # version 1 is still there, unchanged
    old = c.get(f"/v1/plans/{job}/routes?version=1", headers=key(PLANNER))
    assert old.status_code == 200 and old.json() == replanned.v1
    old_csv = c.get(f"/v1/plans/{job}/routes?version=1&format=csv", headers=key(PLANNER))
    assert {row["vehicle"] for row in _csv_rows(old_csv.text)} >= {gone}
    latest = c.get(f"/v1/plans/{job}", headers=key(PLANNER)).json()
    assert latest["version"] == 3 and latest["kpis"] == replanned.v3["totals"]


def test_versions_record_each_cause_and_its_changes(env, replanned):
    r = env.client.get(f"/v1/plans/{replanned.id}/versions", headers=key(DISPATCHER))
    assert r.status_code == 200
    versions = r.json()
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert versions[0]["cause"] == {"type": "plan"}
    assert versions[1]["cause"]["type"] == "events"
    (down,) = versions[1]["cause"]["events"]
    assert (down["type"], down["vehicle"], at(down["at"])) == (
        "vehicle_unavailable", replanned.down["vehicle"], at(replanned.down["at"]))
    (serve,) = versions[2]["cause"]["events"]
    assert (serve["type"], serve["vehicle"], serve["stop"]) == (
        "stops_served", replanned.serve["vehicle"], replanned.serve["stop"])
    assert versions[1]["changes"] == replanned.first["changes"]
    assert versions[2]["changes"] == replanned.second["changes"]
    assert at(versions[0]["created_at"]) <= at(versions[1]["created_at"]) <= at(
        versions[2]["created_at"])


def test_stops_served_marks_the_route_up_to_the_stop_and_reports_arrivals(env, replanned):
    v3 = replanned.v3
    check_routes(v3, env.bookings)
    route = next(r for r in v3["routes"] if r["vehicle"] == replanned.carrier["vehicle"]
                 and r["wave"] == "W1")
    served = {o for s in route["stops"] if s["sequence"] <= replanned.last for o in s["orders"]}
    assert all(s["status"] == ("served" if s["sequence"] <= replanned.last else "planned")
               for s in route["stops"])
    assert {o["order"] for o in v3["orders"] if o["status"] == "served"} == served
    target = route["stops"][replanned.last - 1]
    assert target["stop"] == replanned.target["stop"]
    assert at(target["departure"]) == replanned.served_at
    points = {o: s["stop"] for s in route["stops"][:replanned.last]
              if s["kind"] == "pickup_point" for o in s["orders"]}
    arrivals = replanned.second["changes"]["arrivals"]
    assert sorted(a["order"] for a in arrivals) == sorted(points)
    for a in arrivals:
        assert a["stop"] == points[a["order"]]
        assert a["pickup_point"] == env.bookings[a["order"]].pickup_point
    before = {o["order"]: o for o in replanned.v2["orders"]}
    after = {o["order"]: o for o in v3["orders"]}
    late = {o for o, row in before.items() if row["on_time"] is True and row["status"] != "served"
            and (after[o]["on_time"] is not True or after[o]["wave"] != row["wave"])}
    assert sorted(b["order"] for b in replanned.second["changes"]["broken"]) == sorted(late)
    assert not late & served
    assert replanned.second["totals"]["served"] == replanned.last


# -- ETAs ----------------------------------------------------------------------------------------

def _expected_half_width(view: dict, order: str) -> float:
    """10 minutes plus 1 per unserved stop before the order's on its route (docs/api.md)."""
    for r in view["routes"]:
        for s in r["stops"]:
            if order in s["orders"]:
                ahead = sum(1 for x in r["stops"][: s["sequence"] - 1] if x["status"] != "served")
                return 0.0 if s["status"] == "served" else 600.0 + 60.0 * ahead
    raise AssertionError(f"{order} is on no route")


def test_etas_give_the_planned_window_promise_and_risk(env, replanned):
    v3 = replanned.v3
    rows = {o["order"]: o for o in v3["orders"]}
    for order, row in rows.items():
        r = env.client.get(f"/v1/orders/{order}/eta", headers=key(ORDER_SYSTEM))
        assert r.status_code == 200, r.text
        eta = r.json()
        assert (eta["order"], eta["job"], eta["version"], eta["station"]) == (
            order, replanned.id, 3, STATION)
        assert (eta["wave"], eta["stop"], eta["vehicle"], eta["status"]) == (
            row["wave"], row["stop"], row["vehicle"], row["status"])
        booked = env.bookings[order]
        assert at(eta["promise"]["due"]) == booked.due
        assert at(eta["promise"]["earliest"]) == booked.earliest
        if row["status"] == "unassigned":
            assert eta["planned_arrival"] is None and eta["window"] is None
            assert eta["at_risk"] is True and eta["reason"] == row["reason"]
            continue
        planned, (lo, hi) = at(eta["planned_arrival"]), map(at, eta["window"])
        assert planned == at(row["planned_arrival"])
        half = timedelta(seconds=_expected_half_width(v3, order))
        assert abs(hi - (planned + half)) < timedelta(seconds=1), (order, eta["window"])
        floor = planned - half if booked.earliest is None else max(planned - half,
                                                                   booked.earliest)
        leaves = datetime.combine(DAY, datetime.min.time()) + timedelta(minutes=next(
            w.departure for w in network().stations[STATION].waves if w.id == eta["wave"]))
        floor = max(floor, leaves) if row["status"] != "served" else floor
        assert abs(lo - floor) < timedelta(seconds=1), (order, eta["window"])
        late = row["on_time"] is False
        risky = late or (row["status"] != "served" and booked.due is not None and hi > booked.due)
        assert eta["at_risk"] is risky, (order, eta)


def test_the_eta_window_narrows_as_stops_are_served(env, replanned):
    if replanned.watched is None:
        pytest.skip("the pickup point was the route's last stop: no stop after it to watch")
    before = replanned.eta_before
    after = env.client.get(f"/v1/orders/{replanned.watched}/eta", headers=key(ORDER_SYSTEM)).json()
    assert before["version"] == 2 and after["version"] == 3
    width = [at(e["window"][1]) - at(e["window"][0]) for e in (before, after)]
    assert width[1] < width[0]
    assert before["status"] == after["status"] == "planned"


def test_served_orders_read_served(env, replanned):
    served = [o["order"] for o in replanned.v3["orders"] if o["status"] == "served"]
    assert served
    for order in served:
        eta = env.client.get(f"/v1/orders/{order}/eta", headers=key(DISPATCHER)).json()
        assert eta["status"] == "served" and eta["vehicle"] == replanned.carrier["vehicle"]
        assert eta["window"][0] == eta["window"][1]


# -- errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("GET", "/v1/plans/plan_nope"), ("GET", "/v1/plans/plan_nope/routes"),
    ("GET", "/v1/plans/plan_nope/routes?format=csv"), ("GET", "/v1/plans/plan_nope/map"),
    ("GET", "/v1/plans/plan_nope/versions"), ("POST", "/v1/plans/plan_nope/events"),
    ("GET", "/v1/orders/O-NOT-AN-ORDER/eta"),
])
def test_unknown_jobs_and_orders_are_404(env, method, path):
    body = {"events": [{"type": "route_started", "vehicle": "x", "at": "2026-12-02T08:00:00"}]}
    r = env.client.request(method, path, json=body if method == "POST" else None,
                           headers=key(ADMIN))
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "NOT_FOUND"


def test_an_unknown_version_is_404(env, planned):
    r = env.client.get(f"/v1/plans/{planned.id}/routes?version=7", headers=key(PLANNER))
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    r = env.client.get(f"/v1/plans/{planned.id}/map?version=0", headers=key(PLANNER))
    assert r.status_code == 422 and r.json()["error"]["field"] == "version"


@pytest.mark.parametrize("body, field", [
    ({"station": "BJ-NOPE", "date": "2026-12-02"}, "station"),
    ({"date": "2026-12-02"}, "station"),
    ({"station": STATION, "date": "02/12/2026"}, "date"),
    ({"station": STATION, "date": "2026-12-02", "wave": "W9"}, "wave"),
    ({"station": STATION, "date": "2026-12-02", "time_limit": 0}, "time_limit"),
    ({"station": STATION, "date": "2026-12-02", "time_limit": 301}, "time_limit"),
    ({"station": STATION, "date": "2026-12-02", "seed": -1}, "seed"),
    ({"station": STATION, "date": "2026-12-02", "colour": "red"}, "colour"),
])
def test_a_bad_plan_request_is_422_naming_the_field(env, body, field):
    before = len(env.d.store.jobs())
    r = env.client.post("/v1/plans", json=body, headers=key(DISPATCHER))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "INVALID" and r.json()["error"]["field"] == field
    assert len(env.d.store.jobs()) == before  # nothing was queued


T = f"{DAY}T09:00:00"
BAD_EVENTS = [
    ([{"type": "teleport", "vehicle": "v", "at": T}], "events.0.type"),
    ([{"type": "vehicle_unavailable", "at": T}], "events.0.vehicle"),
    ([{"type": "vehicle_unavailable", "vehicle": "v", "at": "yesterday"}], "events.0.at"),
    ([{"type": "traffic_delay", "vehicle": "v", "at": T, "minutes": 5000}], "events.0.minutes"),
    ([{"type": "route_started", "vehicle": "v", "at": T, "speed": 3}], "events.0.speed"),
    ([], "events"),
]


@pytest.mark.parametrize("events, field", BAD_EVENTS)
def test_bad_events_are_422_naming_the_field(env, planned, events, field):
    r = env.client.post(f"/v1/plans/{planned.id}/events", json={"events": events},
                        headers=key(DISPATCHER))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field, r.json()
    assert env.d.job(planned.id)["version"] == 1  # no version was written


@pytest.mark.parametrize("event", [
    {"type": "vehicle_unavailable", "vehicle": f"{STATION}-van-99", "at": T},
    {"type": "stops_served", "vehicle": f"{STATION}-etrike-pos-01", "stop": "O-NOWHERE", "at": T},
], ids=["unknown vehicle", "stop not on the route"])
def test_an_event_that_does_not_fit_the_plan_is_422_naming_the_event(env, planned, event):
    ok = {"type": "route_started", "vehicle": planned.routes["routes"][0]["vehicle"],
          "at": f"{DAY}T07:55:00"}
    r = env.client.post(f"/v1/plans/{planned.id}/events", json={"events": [ok, event]},
                        headers=key(DISPATCHER))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"].startswith("events.1"), r.json()
    assert env.d.job(planned.id)["version"] == 1


ROLES = [  # method, path (JOB is the planned job), body, the roles admitted besides admin
    ("POST", "/v1/plans", {"station": "BJ-NOPE", "date": "2026-12-02"}, {DISPATCHER}),
    ("GET", "/v1/plans/JOB", None, {DISPATCHER, PLANNER}),
    ("GET", "/v1/plans/JOB/routes", None, {DISPATCHER, PLANNER}),
    ("GET", "/v1/plans/JOB/versions", None, {DISPATCHER, PLANNER}),
    ("POST", "/v1/plans/JOB/events", {"events": []}, {DISPATCHER}),
    ("GET", "/v1/orders/O-NOT-AN-ORDER/eta", None, {ORDER_SYSTEM, DISPATCHER}),
]


@pytest.mark.parametrize("method, path, body, roles", ROLES)
def test_each_role_reaches_only_its_plan_endpoints(env, planned, method, path, body, roles):
    jobs = len(env.d.store.jobs())
    for role in (ORDER_SYSTEM, DISPATCHER, PLANNER):
        r = env.client.request(method, path.replace("JOB", planned.id), json=body,
                               headers=key(role))
        if role in roles:  # admitted: what follows is the endpoint's own answer
            assert r.status_code not in (401, 403), (role, r.text)
        else:
            assert r.status_code == 403, (role, path, r.text)
            assert r.json()["error"]["code"] == "FORBIDDEN"
    r = env.client.request(method, path.replace("JOB", planned.id), json=body)
    assert r.status_code == 401
    assert len(env.d.store.jobs()) == jobs  # (the dispatcher's plan request names no station)


def test_events_for_a_job_not_done_are_409(env):
    job = env.d.store.create_job(station=STATION, day=DAY.isoformat(), wave=None,
                                 time_limit=TIME_LIMIT, seed=0, now=datetime.now())
    event = {"type": "route_started", "vehicle": f"{STATION}-van-01", "at": T}
    r = env.client.post(f"/v1/plans/{job['id']}/events", json={"events": [event]},
                        headers=key(DISPATCHER))
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "CONFLICT" and "queued" in r.json()["error"]["message"]
    env.d.store.update_job(job["id"], datetime.now(), status="failed", phase="failed",
                           error="for the test")
    r = env.client.post(f"/v1/plans/{job['id']}/events", json={"events": [event]},
                        headers=key(DISPATCHER))
    assert r.status_code == 409 and "failed" in r.json()["error"]["message"], r.text
    assert env.d.job(job["id"])["version"] == 0


def test_a_server_without_a_dispatcher_serves_no_plans(env):
    keys = KeyStore.from_mapping({k: role for role, k in KEYS.items()})
    bare = TestClient(create_app(None, keys), raise_server_exceptions=False)
    for path in ("/v1/plans/plan_x", "/v1/orders/O1/eta"):
        r = bare.get(path, headers=key(ADMIN))
        # without a dispatcher api/app.py leaves the plan and ETA routes out
        assert (r.status_code, r.json()["error"]["code"]) == (404, "NOT_FOUND"), r.text


# -- the map -------------------------------------------------------------------------------------

def test_the_map_page_draws_every_route_in_headless_chromium(env, planned, tmp_path):
    r = env.client.get(f"/v1/plans/{planned.id}/map", headers=key(PLANNER))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "leaflet" in html.lower() and f"{STATION} {DAY} plan v1" in html
    routes = planned.routes["routes"]
    for route in routes:
        assert route["vehicle"] in html

    page_file = tmp_path / "plan.html"
    page_file.write_text(html, encoding="utf-8")
    drawn = draw(page_file, tmp_path / "plan.png")
    assert drawn.errors == []
    assert len(drawn.lines) == len(routes) >= 1
    boxes = [line["box"] for line in drawn.lines]
    assert all(b and (b["width"] > 5 or b["height"] > 5) for b in boxes), boxes
    assert is_png(tmp_path / "plan.png")
