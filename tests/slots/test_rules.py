"""The promise rules at their edges: cutoffs, the clock, limits, areas, stock, waves, windows, pickup."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from slots import Order, PromiseType, Reason, promises, wave_capacity, wave_for
from slots.capacity import pickup_key, wave_key
from slots.rules import MAX_211_VOLUME_M3, MAX_211_WEIGHT_KG, PICKUP_RADIUS_KM, whole_minute
from warehouses import VehicleType, Wave, haversine_km

from .sample_network import (HOME, NOWHERE, ON_211_BORDER, OUTSIDE_211, PP_FAR_AT, PP_NEAR_AT,
                             WAVES, at, make_network, make_station, north_of)

NET = make_network()
D0, D1 = "2026-03-02", "2026-03-03"


def order(clock: datetime, *, payment: str = "cod", paid_at: datetime | None = None,
          location=HOME, weight: float = 2.0, volume: float = 0.01, skus=("A",),
          kind: str = "delivery", wants: str | None = None) -> Order:
    return Order("o", "BJ", clock, payment, location, weight, volume, skus=skus, kind=kind,
                 paid_at=paid_at, wants=wants)


def quote(o: Order, network=NET, now: datetime | None = None, booked=None) -> dict:
    result = promises(o, network, now or o.submitted_at, booked)
    return {p.type: p for p in result}


def test_one_promise_per_type_in_order():
    result = promises(order(at(9)), NET, at(9))
    assert [p.type for p in result] == list(PromiseType.ALL)


def test_same_day_before_cutoff_rides_first_wave_after_stock_and_sort():
    same = quote(order(at(10, 59, 59)))[PromiseType.SAME_DAY]
    assert same.offered and same.reasons == ()
    assert same.deadline == at(23)
    # stock ready 10:59:59 + 60 min line-haul + 30 min sort: W08 has left, W14 is the first
    assert (same.station, same.wave_date, same.wave) == ("S1", D0, "W14")


def test_stock_is_picked_from_the_clock_rounded_up_to_the_minute():
    assert whole_minute(at(10, 59, 59)) == at(11)
    assert whole_minute(at(11)) == at(11)
    # 10:59:01 -> picked 11:00, at S1 12:00, sorted 12:30: still W14, and the cutoff uses the clock
    assert quote(order(at(10, 59, 1)))[PromiseType.SAME_DAY].wave == "W14"


def test_same_day_at_exactly_the_cutoff_is_past_it():
    p = quote(order(at(11)))
    assert not p[PromiseType.SAME_DAY].offered
    assert p[PromiseType.SAME_DAY].reasons == (Reason.PAST_CUTOFF,)
    assert p[PromiseType.NEXT_DAY].offered and p[PromiseType.NEXT_DAY].deadline == at(15, day=1)


def test_city_with_a_ten_oclock_cutoff():
    early = make_network(same_day_cutoff=10 * 60)
    assert quote(order(at(9, 59, 59)), early)[PromiseType.SAME_DAY].offered
    assert quote(order(at(10)), early)[PromiseType.SAME_DAY].reasons == (Reason.PAST_CUTOFF,)
    assert quote(order(at(10, 30)), NET)[PromiseType.SAME_DAY].offered


def test_cod_clock_starts_at_submission_prepaid_at_payment():
    cod = quote(order(at(10, 50)))
    paid_late = quote(order(at(10, 50), payment="prepaid", paid_at=at(11, 5)))
    assert cod[PromiseType.SAME_DAY].offered
    assert paid_late[PromiseType.SAME_DAY].reasons == (Reason.PAST_CUTOFF,)
    assert paid_late[PromiseType.NEXT_DAY].offered


def test_unpaid_prepaid_order_starts_its_clock_at_now():
    unpaid = order(at(10, 50), payment="prepaid")
    assert quote(unpaid, now=at(10, 55))[PromiseType.SAME_DAY].offered
    assert quote(unpaid, now=at(11, 0))[PromiseType.SAME_DAY].reasons == (Reason.PAST_CUTOFF,)


def test_next_day_cutoff_and_midnight_rollover():
    before = quote(order(at(22, 59, 59)))
    assert before[PromiseType.SAME_DAY].reasons == (Reason.PAST_CUTOFF,)
    assert before[PromiseType.NEXT_DAY].deadline == at(15, day=1)
    late = quote(order(at(23, 30)))
    same = late[PromiseType.SAME_DAY]
    assert same.offered and same.deadline == at(23, day=1)
    assert (same.wave_date, same.wave) == (D1, "W08")
    assert late[PromiseType.NEXT_DAY].reasons == (Reason.PAST_CUTOFF,)


@pytest.mark.parametrize("weight, offered", [(MAX_211_WEIGHT_KG, True), (15.01, False)])
def test_weight_limit_is_inclusive(weight, offered):
    p = quote(order(at(9), weight=weight))
    for kind in (PromiseType.SAME_DAY, PromiseType.NEXT_DAY, PromiseType.TIMED):
        assert p[kind].offered is offered
        assert p[kind].reasons == (() if offered else (Reason.OVERWEIGHT,))


@pytest.mark.parametrize("volume, offered", [(MAX_211_VOLUME_M3, True), (0.1201, False)])
def test_volume_limit_is_inclusive(volume, offered):
    p = quote(order(at(9), volume=volume))
    for kind in (PromiseType.SAME_DAY, PromiseType.NEXT_DAY, PromiseType.TIMED):
        assert p[kind].offered is offered
        assert p[kind].reasons == (() if offered else (Reason.OVERSIZE,))


def test_point_on_211_border_is_inside():
    assert NET.locate(ON_211_BORDER).id == "S1"
    assert quote(order(at(9), location=ON_211_BORDER))[PromiseType.SAME_DAY].offered


def test_outside_211_area_keeps_timed_and_third_party():
    p = quote(order(at(9), location=OUTSIDE_211))
    assert p[PromiseType.SAME_DAY].reasons == (Reason.OUTSIDE_211_AREA,)
    assert p[PromiseType.NEXT_DAY].reasons == (Reason.OUTSIDE_211_AREA,)
    assert p[PromiseType.TIMED].offered
    assert p[PromiseType.THIRD_PARTY].offered


def test_out_of_service_area_only_third_party():
    p = quote(order(at(9), location=NOWHERE))
    for kind in (PromiseType.SAME_DAY, PromiseType.NEXT_DAY, PromiseType.TIMED, PromiseType.PICKUP_POINT):
        assert p[kind].reasons == (Reason.OUT_OF_SERVICE_AREA,)
    third = p[PromiseType.THIRD_PARTY]
    assert third.offered and third.carrier == "ZTO"  # the cheaper of the two
    assert third.deadline == at(22, day=3)  # ZTO: 3 lead days, by 22:00


def test_no_carrier_means_no_third_party():
    p = quote(order(at(9), location=NOWHERE), make_network(carriers=False))
    assert p[PromiseType.THIRD_PARTY].reasons == (Reason.NO_CARRIER,)


def test_all_reasons_are_collected_in_a_stable_order():
    p = quote(order(at(12), location=OUTSIDE_211, weight=16, volume=0.2, skus=("A", "Z")))
    assert p[PromiseType.SAME_DAY].reasons == (
        Reason.OUTSIDE_211_AREA, Reason.OVERWEIGHT, Reason.OVERSIZE, Reason.NOT_IN_LOCAL_STOCK,
        Reason.PAST_CUTOFF)
    assert p[PromiseType.NEXT_DAY].reasons == (
        Reason.OUTSIDE_211_AREA, Reason.OVERWEIGHT, Reason.OVERSIZE, Reason.NOT_IN_LOCAL_STOCK)


def test_not_in_local_stock():
    p = quote(order(at(9), skus=("A", "Z")))
    for kind in (PromiseType.SAME_DAY, PromiseType.NEXT_DAY, PromiseType.TIMED):
        assert p[kind].reasons == (Reason.NOT_IN_LOCAL_STOCK,)
    assert Reason.NOT_IN_LOCAL_STOCK in p[PromiseType.PICKUP_POINT].reasons
    assert p[PromiseType.THIRD_PARTY].offered


def test_stock_arriving_too_late_for_any_wave():
    # C leaves the DC at 20:00 and takes 10 h: at S1 06:00 tomorrow, sorted 06:30
    p = quote(order(at(9), skus=("C",)))
    assert p[PromiseType.SAME_DAY].reasons == (Reason.NO_WAVE_IN_TIME,)
    nxt = p[PromiseType.NEXT_DAY]
    assert nxt.offered and (nxt.wave_date, nxt.wave) == (D1, "W08")
    assert quote(order(at(21), skus=("C",)))[PromiseType.NEXT_DAY].reasons == (Reason.NO_WAVE_IN_TIME,)


def test_station_full_once_every_wave_in_time_is_booked():
    station = NET.stations["S1"]
    cap = {w.id: wave_capacity(station, w) for w in WAVES}
    booked = {wave_key("S1", D0, "W14"): cap["W14"]}
    same = quote(order(at(10)), booked=booked)[PromiseType.SAME_DAY]
    assert (same.offered, same.wave) == (True, "W18")
    booked[wave_key("S1", D0, "W18")] = cap["W18"]
    same = quote(order(at(10)), booked=booked)[PromiseType.SAME_DAY]
    assert same.reasons == (Reason.STATION_FULL,)
    booked[wave_key("S1", D0, "W18")] = cap["W18"] - 1
    assert quote(order(at(10)), booked=booked)[PromiseType.SAME_DAY].wave == "W18"


def test_wave_capacity_from_fleet_and_override():
    station = NET.stations["S1"]
    # W08: 240 min / (3 + 4) = 34 doors; vans 2 x 34, trikes 3 x 34 (under 40 parcels) -> 170 x 0.9
    assert wave_capacity(station, WAVES[0]) == 153
    late_shift = (VehicleType("van", count=1, weight_kg=800, volume_m3=4, parcels=100,
                              shift=(10 * 60, 20 * 60)),)
    # 10:00-12:00 of W08 is on shift: 120 / 7 = 17 doors x 0.9
    assert wave_capacity(make_station(fleet=late_shift), WAVES[0]) == 15
    small_van = (VehicleType("van", count=1, weight_kg=800, volume_m3=4, parcels=10, shift=(0, 1440)),)
    assert wave_capacity(make_station(fleet=small_van), WAVES[0]) == 9
    assert wave_capacity(make_station(wave_capacity=7), WAVES[0]) == 7


def test_timed_windows_hard_on_both_ends():
    timed = quote(order(at(9)))[PromiseType.TIMED]
    # ready 10:30: today's 10-12 window starts before it; 19-21 today, then both tomorrow
    assert timed.windows == ((at(19), at(21)), (at(10, day=1), at(12, day=1)),
                             (at(19, day=1), at(21, day=1)))
    assert timed.deadline == at(21)
    assert (timed.wave_date, timed.wave) == (D0, "W18")


def test_timed_windows_skip_full_waves_and_need_windows():
    station = NET.stations["S1"]
    booked = {wave_key("S1", D0, "W18"): wave_capacity(station, WAVES[2])}
    timed = quote(order(at(9)), booked=booked)[PromiseType.TIMED]
    assert timed.windows[0] == (at(10, day=1), at(12, day=1))
    assert (timed.wave_date, timed.wave) == (D1, "W08")
    none = quote(order(at(9)), make_network(timed_windows=()))[PromiseType.TIMED]
    assert none.reasons == (Reason.NO_TIMED_WINDOWS,)


def test_wave_for_waits_for_the_window_and_respects_latest_return():
    station = NET.stations["S1"]
    assert wave_for(NET, station, at(7), HOME, at(10), at(12)) == (D0, "W08")
    assert wave_for(NET, station, at(8, 1), HOME, at(10), at(12)) is None
    assert wave_for(NET, station, at(7), HOME, at(12, 30), at(13, 30)) is None  # W08 back by 12:00
    full = {wave_key("S1", D0, "W08"): wave_capacity(station, WAVES[0])}
    assert wave_for(NET, station, at(7), HOME, at(10), at(12), full) is None
    assert wave_for(NET, station, at(7), HOME, at(10), at(19), full) == (D0, "W14")


def test_pickup_point_nearest_with_room():
    home = north_of(PP_NEAR_AT, 0.3)
    assert haversine_km(home, PP_FAR_AT) == pytest.approx(2.8)
    p = quote(order(at(9), location=home))[PromiseType.PICKUP_POINT]
    assert (p.offered, p.pickup_point, p.deadline) == (True, "PP_NEAR", at(20))
    assert (p.wave_date, p.wave) == (D0, "W14")
    p = quote(order(at(9), location=home), booked={pickup_key("PP_NEAR", D0): 2})[PromiseType.PICKUP_POINT]
    assert p.pickup_point == "PP_FAR"
    full = {pickup_key("PP_NEAR", D0): 2, pickup_key("PP_FAR", D0): 2}
    p = quote(order(at(9), location=home), booked=full)[PromiseType.PICKUP_POINT]
    assert p.reasons == (Reason.NO_PICKUP_POINT,)


def test_pickup_point_radius_and_day():
    inside = north_of(PP_NEAR_AT, PICKUP_RADIUS_KM - 0.1)
    outside = north_of(PP_NEAR_AT, PICKUP_RADIUS_KM + 0.1)
    assert quote(order(at(9), location=inside))[PromiseType.PICKUP_POINT].pickup_point == "PP_NEAR"
    assert quote(order(at(9), location=outside))[PromiseType.PICKUP_POINT].reasons == (
        Reason.NO_PICKUP_POINT,)
    after_cutoff = quote(order(at(12), location=inside))[PromiseType.PICKUP_POINT]
    assert (after_cutoff.deadline, after_cutoff.wave_date, after_cutoff.wave) == (at(20, day=1), D1, "W08")


def test_pickup_point_weight_limit_is_thirty_kg():
    home = north_of(PP_NEAR_AT, 0.3)
    assert quote(order(at(9), location=home, weight=30.0))[PromiseType.PICKUP_POINT].offered
    assert quote(order(at(9), location=home, weight=30.01))[PromiseType.PICKUP_POINT].reasons == (
        Reason.OVERWEIGHT,)


def test_return_goes_on_first_wave_an_hour_after_the_clock():
    def ret(clock):
        result = promises(order(clock, kind="return"), NET, clock)
        assert [p.type for p in result] == [PromiseType.RETURN]
        return result[0]

    assert (ret(at(6, 59)).wave_date, ret(at(6, 59)).wave) == (D0, "W08")
    assert (ret(at(7, 30)).wave, ret(at(7, 30)).deadline) == ("W14", at(18))
    late = ret(at(21))
    assert (late.offered, late.wave_date, late.wave) == (True, D1, "W08")
    assert ret(at(9)).station == "S1"
    nowhere = promises(order(at(9), kind="return", location=NOWHERE), NET, at(9))
    assert [(p.offered, p.reasons) for p in nowhere] == [(False, (Reason.OUT_OF_SERVICE_AREA,))]


def test_return_skips_full_waves():
    station = NET.stations["S1"]
    booked = {wave_key("S1", D0, "W14"): wave_capacity(station, WAVES[1])}
    p = promises(order(at(7, 30), kind="return"), NET, at(7, 30), booked)[0]
    assert p.wave == "W18"


def test_timed_window_running_past_midnight():
    night = make_network(waves=(Wave("W22", 22 * 60, 25 * 60),), timed_windows=((22 * 60 + 30, 24 * 60 + 30),))
    timed = quote(order(at(9)), night)[PromiseType.TIMED]
    assert timed.windows[0] == (at(22, 30), at(0, 30, day=1))
    assert (timed.wave_date, timed.wave) == (D0, "W22")


def test_unknown_city_is_not_local_stock_but_still_quoted():
    o = Order("o", "XX", at(9), "cod", HOME, 2.0, 0.01, skus=("A",))
    p = quote(o)
    assert p[PromiseType.SAME_DAY].reasons == (Reason.NOT_IN_LOCAL_STOCK,)
    assert p[PromiseType.THIRD_PARTY].offered


def test_an_exchange_is_offered_the_door_promises_of_a_delivery_only():
    exchange = order(at(9), kind="exchange", payment="prepaid", paid_at=at(9))
    p, d = quote(exchange), quote(order(at(9), payment="prepaid", paid_at=at(9)))
    assert [q.type for q in promises(exchange, NET, at(9))] == list(PromiseType.ALL)
    for kind in (PromiseType.SAME_DAY, PromiseType.NEXT_DAY, PromiseType.TIMED):
        assert p[kind].offered and p[kind] == d[kind]
    for kind in (PromiseType.PICKUP_POINT, PromiseType.THIRD_PARTY):
        assert p[kind].reasons == (Reason.DOOR_EXCHANGE_ONLY,)
    assert d[PromiseType.THIRD_PARTY].offered
    home = north_of(PP_NEAR_AT, 0.3)
    assert quote(replace(exchange, kind="delivery", location=home))[PromiseType.PICKUP_POINT].offered
    assert quote(replace(exchange, location=home))[PromiseType.PICKUP_POINT].reasons == (
        Reason.DOOR_EXCHANGE_ONLY,)


def test_an_exchange_needs_stock_and_the_211_limits_like_a_delivery():
    p = quote(order(at(9), kind="exchange", skus=("Z",)))
    for kind in (PromiseType.SAME_DAY, PromiseType.NEXT_DAY, PromiseType.TIMED):
        assert p[kind].reasons == (Reason.NOT_IN_LOCAL_STOCK,)
    p = quote(order(at(9), kind="exchange", weight=MAX_211_WEIGHT_KG + 1))
    assert p[PromiseType.SAME_DAY].reasons == (Reason.OVERWEIGHT,)
    assert p[PromiseType.THIRD_PARTY].reasons == (Reason.DOOR_EXCHANGE_ONLY,)


def test_pickup_point_room_is_counted_in_parcels():
    home = north_of(PP_NEAR_AT, 0.3)
    booked = {pickup_key("PP_NEAR", D0): 1}  # the sample points hold 2 parcels
    one = quote(order(at(9), location=home), booked=booked)[PromiseType.PICKUP_POINT]
    two = quote(replace(order(at(9), location=home), parcels=2), booked=booked)
    assert one.pickup_point == "PP_NEAR"
    assert two[PromiseType.PICKUP_POINT].pickup_point == "PP_FAR"
    three = quote(replace(order(at(9), location=home), parcels=3))[PromiseType.PICKUP_POINT]
    assert three.reasons == (Reason.NO_PICKUP_POINT,)
