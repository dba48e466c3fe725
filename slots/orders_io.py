"""Read and write order files (CSV or Parquet), with errors that name the file, row and column.

The schema is in docs/orders.md. Whatever `write_orders` writes, `read_orders` reads back equal.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .model import Order, PromiseType

COLUMNS = ("id", "city", "submitted_at", "paid_at", "payment", "lat", "lon", "weight_kg",
           "volume_m3", "parcels", "skus", "member_tier", "kind", "wants")
REQUIRED = frozenset(("id", "city", "submitted_at", "payment", "lat", "lon", "weight_kg",
                      "volume_m3"))
PAYMENTS = ("cod", "prepaid")
KINDS = ("delivery", "return", "exchange")
MEMBER_TIERS = range(0, 4)
SKU_SEPARATOR = ";"
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")

PARQUET_SCHEMA = pa.schema([
    ("id", pa.string()), ("city", pa.string()),
    ("submitted_at", pa.timestamp("us")), ("paid_at", pa.timestamp("us")),
    ("payment", pa.string()), ("lat", pa.float64()), ("lon", pa.float64()),
    ("weight_kg", pa.float64()), ("volume_m3", pa.float64()), ("parcels", pa.int64()),
    ("skus", pa.string()), ("member_tier", pa.int64()), ("kind", pa.string()),
    ("wants", pa.string()),
])


class OrderFileError(ValueError):
    """An order file that cannot be read (or written): names the file, row and column, and why."""


class _Invalid(Exception):
    """A cell's value is wrong: `what` says how; the row parser adds file, row and column."""

    def __init__(self, what: str, column: str | None = None, value: Any = None):
        super().__init__(what)
        self.what, self.column, self.value = what, column, value


def read_orders(path: str | Path) -> list[Order]:
    """The orders in a CSV or Parquet file (by suffix), validated row by row.

    Raises OrderFileError naming the file, the data row (counted from 1) and the column.
    """
    path = Path(path)
    rows = _read_csv(path) if _kind(path) == "csv" else _read_parquet(path)
    orders: list[Order] = []
    first_row: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        try:
            order = _parse(row)
            if order.id in first_row:
                raise _Invalid(f"duplicate id, also on row {first_row[order.id]}", "id", order.id)
        except _Invalid as e:
            raise _error(path, number, e) from None
        first_row[order.id] = number
        orders.append(order)
    return orders


def write_orders(path: str | Path, orders: Iterable[Order]) -> None:
    """Write orders as CSV or Parquet (by suffix), every column, so `read_orders` reads them back.

    Raises OrderFileError (row = position in `orders`, from 1) before writing anything if an order
    would not read back equal, e.g. a SKU containing ';' or a negative weight.
    """
    path = Path(path)
    kind = _kind(path)
    orders = list(orders)
    rows = [_row(order) for order in orders]
    seen: dict[str, int] = {}
    for number, (order, row) in enumerate(zip(orders, rows), start=1):
        try:
            if order.id in seen:
                raise _Invalid(f"duplicate id, also on row {seen[order.id]}", "id", order.id)
            seen[order.id] = number
            _check_same(order, _parse(row))
        except _Invalid as e:
            raise _error(path, number, e) from None
    if kind == "csv":
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows([_csv_cell(row[c]) for c in COLUMNS] for row in rows)
    else:
        pq.write_table(pa.Table.from_pylist(rows, schema=PARQUET_SCHEMA), path)


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise OrderFileError(
        f"{path}: unsupported file type {suffix!r}; expected .csv, .parquet or .pq")


def _read_csv(path: Path) -> Iterable[Mapping[str, Any]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            table = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as e:
        raise OrderFileError(f"{path}: not a readable CSV file ({e})") from None
    if not table:
        raise OrderFileError(f"{path}: empty file, expected a header row")
    header, records = table[0], [r for r in table[1:] if r]
    _check_header(path, header)
    for number, record in enumerate(records, start=1):
        if len(record) != len(header):
            column = header[len(record)] if len(record) < len(header) else len(header) + 1
            raise OrderFileError(f"{path} row {number}, column {column}: the row has "
                                 f"{len(record)} fields, the header {len(header)}")
    return (dict(zip(header, record)) for record in records)


def _read_parquet(path: Path) -> Iterable[Mapping[str, Any]]:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as e:
        raise OrderFileError(f"{path}: not a readable Parquet file ({e})") from None
    _check_header(path, table.column_names)
    return table.to_pylist()


def _check_header(path: Path, header: Sequence[str]) -> None:
    duplicated = sorted({c for c in header if list(header).count(c) > 1})
    if duplicated:
        raise OrderFileError(f"{path}: duplicate column(s) {_names(duplicated)}")
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise OrderFileError(f"{path}: unknown column(s) {_names(unknown)}; "
                             f"the columns are {', '.join(COLUMNS)}")
    missing = [c for c in COLUMNS if c in REQUIRED and c not in header]
    if missing:
        raise OrderFileError(f"{path}: missing required column(s) {_names(missing)}")


def _names(columns: Iterable[str]) -> str:
    return ", ".join(repr(c) for c in columns)


def _error(path: Path, number: int, e: _Invalid) -> OrderFileError:
    got = "" if e.value is None else _text(e.value)
    return OrderFileError(f"{path} row {number}, column {e.column}: {e.what} (got {got!r})")


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return SKU_SEPARATOR.join(map(str, value))
    return str(value)


def _parse(row: Mapping[str, Any]) -> Order:
    """One row's cells (strings from CSV, typed values from Parquet) as an Order."""

    def cell(column: str, parse: Callable[[Any], Any], default: Any = None) -> Any:
        value = row.get(column)
        if _blank(value):
            if column in REQUIRED:
                raise _Invalid("missing value", column, value)
            return default
        try:
            return parse(value)
        except _Invalid as e:
            raise _Invalid(e.what, column, value) from None

    submitted_at = cell("submitted_at", _datetime)
    paid_at = cell("paid_at", _datetime)
    payment = cell("payment", _choice(PAYMENTS, "payment"))
    kind = cell("kind", _choice(KINDS, "kind"), "delivery")
    skus = cell("skus", _skus, ())
    if paid_at is not None and paid_at < submitted_at:
        raise _Invalid(f"paid before submitted_at {submitted_at.isoformat()}", "paid_at", paid_at)
    if paid_at is not None and payment == "cod":
        raise _Invalid("a cash-on-delivery order has no paid_at", "paid_at", paid_at)
    if kind != "return" and not skus:
        raise _Invalid(f"a{'n' if kind == 'exchange' else ''} {kind} needs at least one SKU",
                       "skus", row.get("skus"))
    return Order(
        id=cell("id", _string),
        city=cell("city", _string),
        submitted_at=submitted_at,
        payment=payment,
        location=(cell("lat", _number(-90.0, 90.0, "latitude outside [-90, 90]")),
                  cell("lon", _number(-180.0, 180.0, "longitude outside [-180, 180]"))),
        weight_kg=cell("weight_kg", _number(0.0, math.inf, "negative weight")),
        volume_m3=cell("volume_m3", _number(0.0, math.inf, "negative volume")),
        parcels=cell("parcels", _whole(1, None, "parcels must be at least 1"), 1),
        skus=skus,
        member_tier=cell("member_tier", _whole(MEMBER_TIERS.start, MEMBER_TIERS.stop - 1,
                                              "member tier outside 0..3"), 0),
        kind=kind,
        paid_at=paid_at,
        wants=cell("wants", _choice(PromiseType.ALL, "promise type")),
    )


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple)):
        return not value
    return False


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("expected text")
    return value


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        if "T" not in value and " " not in value.strip():
            raise _Invalid("expected a date and a time, like 2026-12-01T09:15:00")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise _Invalid("not an ISO 8601 date-time, like 2026-12-01T09:15:00") from None
    else:
        raise _Invalid("expected a date-time")
    if moment.tzinfo is not None:
        raise _Invalid("has a time zone; expected naive local time")
    return moment


def _number(low: float, high: float, out_of_range: str) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise _Invalid("not a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise _Invalid("not a number") from None
        if not math.isfinite(number):
            raise _Invalid("not a finite number")
        if not low <= number <= high:
            raise _Invalid(out_of_range)
        return number
    return parse


def _whole(low: int, high: int | None, out_of_range: str) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            raise _Invalid("not a whole number")
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):
            raise _Invalid("not a whole number") from None
        if number < low or high is not None and number > high:
            raise _Invalid(out_of_range)
        return number
    return parse


def _choice(allowed: Sequence[str], what: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in allowed:
            raise _Invalid(f"unknown {what}, expected one of {', '.join(allowed)}")
        return value
    return parse


def _skus(value: Any) -> tuple[str, ...]:
    items = value.split(SKU_SEPARATOR) if isinstance(value, str) else list(value)
    if not all(isinstance(s, str) and s for s in items):
        raise _Invalid(f"empty SKU in the {SKU_SEPARATOR!r}-separated list")
    return tuple(items)


def _row(order: Order) -> dict[str, Any]:
    """An order as typed cells (the Parquet row; the CSV row is its text)."""
    return {
        "id": order.id, "city": order.city, "submitted_at": order.submitted_at,
        "paid_at": order.paid_at, "payment": order.payment,
        "lat": order.location[0], "lon": order.location[1],
        "weight_kg": order.weight_kg, "volume_m3": order.volume_m3, "parcels": order.parcels,
        "skus": SKU_SEPARATOR.join(order.skus), "member_tier": order.member_tier,
        "kind": order.kind, "wants": order.wants,
    }


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return _text(value)


def _check_same(order: Order, parsed: Order) -> None:
    """Raise _Invalid on the first field of `order` that would not read back equal."""
    for field in fields(Order):
        ours, theirs = getattr(order, field.name), getattr(parsed, field.name)
        if ours != theirs:
            column = field.name
            if column == "location":
                column = "lat" if order.location[0] != parsed.location[0] else "lon"
            raise _Invalid("would not read back the same", column, ours)
