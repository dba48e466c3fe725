"""API keys: stored hashed, loaded from a file or the environment, checked per role; wrong key,
wrong role and missing key are each refused, and production mode has no default key."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import ADMIN, DISPATCHER, ORDER_SYSTEM, PLANNER, KeyStore, digest
from tests.api.test_http_app import KEYS, SLOT, FakeService, order

ENDPOINTS = [  # method, path, body, roles admitted (besides admin)
    ("POST", "/v1/quotes", order(), {ORDER_SYSTEM}),
    ("POST", "/v1/reservations", {"order": order(), "slot": SLOT, "idempotency_key": "A1"},
     {ORDER_SYSTEM}),
    ("POST", "/v1/reservations/R1/confirm", None, {ORDER_SYSTEM}),
    ("GET", "/v1/reservations/R1", None, {ORDER_SYSTEM, DISPATCHER}),
    ("DELETE", "/v1/reservations/R1", None, {ORDER_SYSTEM}),
    ("GET", "/v1/stations/BJ-WJ/slots?date=2026-12-02", None, {DISPATCHER, PLANNER}),
    ("GET", "/metrics", None, {DISPATCHER, PLANNER}),
]


@pytest.fixture
def client() -> TestClient:
    keys = KeyStore.from_mapping({key: role for role, key in KEYS.items()})
    return TestClient(create_app(FakeService(), keys), raise_server_exceptions=False)


def call(client, method, path, body, headers):
    return client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("method, path, body, roles", ENDPOINTS)
def test_missing_and_wrong_keys_are_401(client, method, path, body, roles):
    for headers in ({}, {"Authorization": "Bearer not-a-key-at-all-000000"},
                    {"X-API-Key": "wrong-key-wrong-key-00"}, {"Authorization": "Basic abc"},
                    {"Authorization": f"Bearer {KEYS[ADMIN]}x"}):
        r = call(client, method, path, body, headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.json()["error"]["code"] == "UNAUTHENTICATED"
        assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("method, path, body, roles", ENDPOINTS)
def test_each_role_reaches_only_its_endpoints(client, method, path, body, roles):
    for role, key in KEYS.items():
        for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
            r = call(client, method, path, body, headers)
            if role == ADMIN or role in roles:
                assert r.status_code not in (401, 403), (role, r.text)
            else:
                assert r.status_code == 403, (role, r.text)
                assert r.json()["error"]["code"] == "FORBIDDEN"


def test_order_system_cannot_read_station_overview(client):
    r = client.get("/v1/stations/BJ-WJ/slots?date=2026-12-02",
                   headers={"X-API-Key": KEYS[ORDER_SYSTEM]})
    assert r.status_code == 403


def test_keys_are_kept_only_as_digests():
    store = KeyStore.from_mapping({KEYS[ADMIN]: ADMIN})
    assert KEYS[ADMIN] not in repr(vars(store))
    assert store.principal(KEYS[ADMIN]).role == ADMIN
    assert store.principal(KEYS[ADMIN][:-1]) is None


def test_keys_from_json_toml_and_env(tmp_path):
    hashed = "sha256:" + digest("planner-key-from-a-file-1")
    keys = {hashed: PLANNER, "plain-order-key-0001": ORDER_SYSTEM}
    (tmp_path / "keys.json").write_text(json.dumps({"keys": keys}))
    (tmp_path / "keys.toml").write_text(f'"{hashed}" = "planner"\n')
    store = KeyStore.from_file(tmp_path / "keys.json")
    assert store.principal("planner-key-from-a-file-1").role == PLANNER
    assert store.principal("plain-order-key-0001").role == ORDER_SYSTEM
    assert KeyStore.from_file(tmp_path / "keys.toml").principal("planner-key-from-a-file-1")
    env = {"SLOT211_API_KEYS": f"dispatcher:dispatch-key-0000001, admin:{hashed}"}
    merged = KeyStore.load(tmp_path / "keys.toml", env)
    assert len(merged) == 2
    assert merged.principal("dispatch-key-0000001").role == DISPATCHER
    assert merged.principal("planner-key-from-a-file-1").role == ADMIN


@pytest.mark.parametrize("value, message", [
    ("boss:some-long-key-000000", "unknown role"),
    ("admin:short", "shorter than"),
    ("admin:sha256:abc", "64 hex digits"),
    ("admin", "expected role:key"),
])
def test_bad_key_config_is_refused(value, message):
    with pytest.raises(ValueError, match=message):
        KeyStore.from_env(value)


def test_production_refuses_to_start_without_keys():
    with pytest.raises(ValueError, match="no default key"):
        create_app(FakeService(), KeyStore(), production=True)


def test_dev_mode_generated_admin_key_works():
    store = KeyStore()
    key = store.generate()
    client = TestClient(create_app(FakeService(), store))
    r = client.get("/v1/stations/BJ-WJ/slots?date=2026-12-02", headers={"X-API-Key": key})
    assert r.status_code == 200
