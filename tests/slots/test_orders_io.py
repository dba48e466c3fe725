"""read_orders / write_orders: exact round trips, and errors that name the file, row and column."""

from __future__ import annotations

import csv
import tempfile
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slots.model import Order, PromiseType
from slots.orders_io import COLUMNS, OrderFileError, read_orders, write_orders

GOOD = {
    "id": "O1", "city": "beijing", "submitted_at": "2026-12-01T09:15:00",
    "paid_at": "2026-12-01T09:17:30", "payment": "prepaid", "lat": "39.9965", "lon": "116.47",
    "weight_kg": "2.5", "volume_m3": "0.012", "parcels": "2", "skus": "SKU-1;SKU-2",
    "member_tier": "1", "kind": "delivery", "wants": "timed_window",
}

ORDERS = [
    Order("O20261201-000001", "beijing", datetime(2026, 11, 30, 11, 0, 5), "prepaid",
          (39.996512, 116.470001), 2.35, 0.0123, 2, ("SKU-1", "SKU-2"), 1, "delivery",
          datetime(2026, 11, 30, 11, 3, 0, 250), PromiseType.TIMED),
    Order("O20261201-000002", "beijing", datetime(2026, 12, 1, 8, 0), "cod", (39.9, 116.4), 16.0,
          0.2, skus=("SKU-3",)),
    Order("O20261201-000003", "beijing", datetime(2026, 12, 1, 9, 0), "prepaid", (-33.5, -70.6),
          0.4, 0.001, kind="return", member_tier=3),
    Order("O20261201-000004", "shanghai", datetime(2026, 12, 1, 9, 30), "prepaid", (31.2, 121.5),
          1.0, 0.01, 1, ("SKU-4",), wants=PromiseType.PICKUP_POINT),
    Order("O20261201-000005", "beijing", datetime(2026, 12, 1, 10, 0), "prepaid", (39.95, 116.45),
          3.2, 0.02, 2, ("SKU-5",), kind="exchange", paid_at=datetime(2026, 12, 1, 10, 0)),
]


def write_csv(path: Path, rows: list[dict[str, str]], columns=None) -> Path:
    columns = columns or list(rows[0])
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".pq"])
def test_round_trip(tmp_path, suffix):
    path = tmp_path / f"orders{suffix}"
    write_orders(path, ORDERS)
    assert read_orders(path) == ORDERS
    assert read_orders(str(path)) == ORDERS


def test_parquet_columns_are_typed(tmp_path):
    write_orders(tmp_path / "o.parquet", ORDERS)
    schema = pq.read_schema(tmp_path / "o.parquet")
    assert schema.names == list(COLUMNS)
    assert schema.field("submitted_at").type == pa.timestamp("us")
    assert schema.field("weight_kg").type == pa.float64()
    assert schema.field("parcels").type == pa.int64()


def test_only_required_columns_take_the_defaults(tmp_path):
    row = {k: GOOD[k] for k in ("id", "city", "submitted_at", "payment", "lat", "lon",
                                "weight_kg", "volume_m3")}
    row["kind"] = "return"
    (order,) = read_orders(write_csv(tmp_path / "o.csv", [row]))
    assert order == Order("O1", "beijing", datetime(2026, 12, 1, 9, 15), "prepaid",
                          (39.9965, 116.47), 2.5, 0.012, kind="return")
    assert (order.parcels, order.skus, order.member_tier, order.paid_at, order.wants) == (
        1, (), 0, None, None)


def test_prepaid_without_paid_at_is_not_yet_paid(tmp_path):
    (order,) = read_orders(write_csv(tmp_path / "o.csv", [{**GOOD, "paid_at": ""}]))
    assert order.paid_at is None and order.clock == order.submitted_at


BAD_CELLS = [
    ("weight_kg", "heavy", "not a number"),
    ("weight_kg", "-1", "negative weight"),
    ("weight_kg", "nan", "not a finite number"),
    ("volume_m3", "-0.01", "negative volume"),
    ("lat", "91", "latitude outside [-90, 90]"),
    ("lon", "-180.5", "longitude outside [-180, 180]"),
    ("lat", "", "missing value"),
    ("id", " ", "missing value"),
    ("submitted_at", "2026-13-01T09:00:00", "not an ISO 8601 date-time"),
    ("submitted_at", "2026-12-01", "expected a date and a time"),
    ("submitted_at", "2026-12-01T09:00:00+08:00", "has a time zone; expected naive local time"),
    ("paid_at", "2026-12-01T09:00:00", "paid before submitted_at 2026-12-01T09:15:00"),
    ("payment", "card", "unknown payment"),
    ("parcels", "0", "parcels must be at least 1"),
    ("parcels", "1.5", "not a whole number"),
    ("member_tier", "4", "member tier outside 0..3"),
    ("kind", "swap", "unknown kind"),
    ("wants", "asap", "unknown promise type"),
    ("skus", "SKU-1;;SKU-2", "empty SKU"),
    ("skus", "", "a delivery needs at least one SKU"),
]


def test_an_exchange_reads_and_needs_the_new_item(tmp_path):
    (order,) = read_orders(write_csv(tmp_path / "o.csv", [{**GOOD, "kind": "exchange"}]))
    assert order.kind == "exchange" and order.skus == ("SKU-1", "SKU-2")
    path = write_csv(tmp_path / "bad.csv", [{**GOOD, "kind": "exchange", "skus": ""}])
    with pytest.raises(OrderFileError, match=r"row 1, column skus: an exchange needs at least one"):
        read_orders(path)


@pytest.mark.parametrize("column, value, what", BAD_CELLS)
def test_a_bad_cell_names_row_and_column(tmp_path, column, value, what):
    path = write_csv(tmp_path / "o.csv", [GOOD, {**GOOD, "id": "O2", column: value}])
    with pytest.raises(OrderFileError) as e:
        read_orders(path)
    message = str(e.value)
    assert message.startswith(f"{path} row 2, column {column}: {what}")
    assert message.endswith(f"(got {value!r})")


def test_cash_on_delivery_with_a_payment_time_is_refused(tmp_path):
    path = write_csv(tmp_path / "o.csv", [{**GOOD, "payment": "cod"}])
    with pytest.raises(OrderFileError, match=r"row 1, column paid_at: a cash-on-delivery"):
        read_orders(path)


def test_a_duplicate_id_names_both_rows(tmp_path):
    path = write_csv(tmp_path / "o.csv", [GOOD, {**GOOD, "id": "O2"}, GOOD])
    with pytest.raises(OrderFileError, match=r"row 3, column id: duplicate id, also on row 1 "
                                             r"\(got 'O1'\)"):
        read_orders(path)


def test_unknown_and_missing_columns(tmp_path):
    path = write_csv(tmp_path / "o.csv", [{**GOOD, "colour": "red"}])
    with pytest.raises(OrderFileError, match=r"unknown column\(s\) 'colour'"):
        read_orders(path)
    path = write_csv(tmp_path / "o.csv", [{k: v for k, v in GOOD.items() if k != "lat"}])
    with pytest.raises(OrderFileError, match=r"missing required column\(s\) 'lat'"):
        read_orders(path)
    pq.write_table(pa.table({"id": ["O1"], "colour": ["red"]}), tmp_path / "o.parquet")
    with pytest.raises(OrderFileError, match=r"unknown column\(s\) 'colour'"):
        read_orders(tmp_path / "o.parquet")


def test_a_row_with_the_wrong_number_of_fields(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(",".join(GOOD) + "\n" + ",".join(GOOD.values()) + "\nO2,beijing\n")
    with pytest.raises(OrderFileError, match=r"row 2, column submitted_at: the row has 2 fields"):
        read_orders(path)
    path.write_text(",".join(GOOD) + "\n" + ",".join(GOOD.values()) + ",extra\n")
    with pytest.raises(OrderFileError, match=r"row 1, column 15: the row has 15 fields"):
        read_orders(path)


def test_parquet_errors_name_row_and_column(tmp_path):
    rows = [{k: v for k, v in GOOD.items()}, {**GOOD, "id": "O2"}]
    table = pa.Table.from_pylist(rows).set_column(
        list(GOOD).index("weight_kg"), "weight_kg", pa.array([1.0, -2.0]))
    pq.write_table(table, tmp_path / "o.parquet")
    with pytest.raises(OrderFileError, match=r"o.parquet row 2, column weight_kg: negative weight "
                                             r"\(got '-2.0'\)"):
        read_orders(tmp_path / "o.parquet")
    table = pa.Table.from_pylist(rows).set_column(
        list(GOOD).index("city"), "city", pa.array(["beijing", None]))
    pq.write_table(table, tmp_path / "o.parquet")
    with pytest.raises(OrderFileError, match=r"row 2, column city: missing value"):
        read_orders(tmp_path / "o.parquet")


def test_unreadable_files_and_suffixes(tmp_path):
    with pytest.raises(OrderFileError, match="unsupported file type '.json'"):
        read_orders(tmp_path / "o.json")
    with pytest.raises(OrderFileError, match="unsupported file type"):
        write_orders(tmp_path / "o.txt", ORDERS)
    (tmp_path / "o.parquet").write_text("id,city\n")
    with pytest.raises(OrderFileError, match="not a readable Parquet file"):
        read_orders(tmp_path / "o.parquet")
    (tmp_path / "o.csv").write_text("")
    with pytest.raises(OrderFileError, match="empty file"):
        read_orders(tmp_path / "o.csv")


def test_write_refuses_what_would_not_read_back(tmp_path):
    bad = Order("O9", "beijing", datetime(2026, 12, 1, 9), "cod", (39.9, 116.4), 1.0, 0.01,
                skus=("SKU;1",))
    with pytest.raises(OrderFileError,
                       match=rf"row {len(ORDERS) + 1}, column skus: would not read back"):
        write_orders(tmp_path / "o.csv", ORDERS + [bad])
    assert not (tmp_path / "o.csv").exists()
    heavy = Order("O9", "beijing", datetime(2026, 12, 1, 9), "cod", (39.9, 116.4), -1.0, 0.01,
                  skus=("SKU-1",))
    with pytest.raises(OrderFileError, match=r"row 1, column weight_kg: negative weight"):
        write_orders(tmp_path / "o.parquet", [heavy])
    with pytest.raises(OrderFileError, match=r"row 2, column id: duplicate id, also on row 1"):
        write_orders(tmp_path / "o.csv", [ORDERS[0], ORDERS[0]])


texts = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1))


@st.composite
def orders(draw) -> Order:
    kind = draw(st.sampled_from(["delivery", "return", "exchange"]))
    payment = draw(st.sampled_from(["cod", "prepaid"]))
    submitted = draw(moments)
    paid = draw(st.none() | moments.filter(lambda m: m >= submitted)) if payment == "prepaid" \
        else None
    skus = draw(st.lists(texts.filter(lambda s: ";" not in s and s.strip()),
                         min_size=0 if kind == "return" else 1, max_size=4))
    return Order(
        id=draw(texts.filter(str.strip)), city=draw(texts.filter(str.strip)),
        submitted_at=submitted, payment=payment,
        location=(draw(st.floats(-90, 90)), draw(st.floats(-180, 180))),
        weight_kg=draw(st.floats(0, 1e6)), volume_m3=draw(st.floats(0, 1e3)),
        parcels=draw(st.integers(1, 1000)), skus=tuple(skus), member_tier=draw(st.integers(0, 3)),
        kind=kind, paid_at=paid, wants=draw(st.none() | st.sampled_from(PromiseType.ALL)))


@settings(max_examples=60, deadline=None)
@given(st.lists(orders(), min_size=1, max_size=5, unique_by=lambda o: o.id))
def test_any_valid_orders_round_trip(orders_):
    with tempfile.TemporaryDirectory() as folder:
        for suffix in (".csv", ".parquet"):
            path = Path(folder) / f"orders{suffix}"
            write_orders(path, orders_)
            assert read_orders(path) == orders_
