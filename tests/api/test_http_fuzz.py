"""schemathesis against the served OpenAPI schema: generated requests (valid and invalid) to every
operation, with an admin key, never get a 5xx and always match the documented responses, both
over a fake service and over the real one with a SQLite ledger."""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from api.app import create_app
from api.auth import ADMIN, KeyStore
from tests.api.test_http_app import KEYS, FakeService
from tests.api.test_http_serve import BEIJING

KEYSTORE = KeyStore.from_mapping({KEYS[ADMIN]: ADMIN})
HEADERS = {"Authorization": f"Bearer {KEYS[ADMIN]}"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))

fake_schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(FakeService(capacity=10_000), KEYSTORE, max_body_bytes=16_000))


@pytest.fixture(scope="module")
def real_app(tmp_path_factory):
    from slots.ledger import open_ledger
    from slots.service import SlotService
    from warehouses import load_network

    from slots.dispatch.service import Dispatcher

    folder = tmp_path_factory.mktemp("fuzz")
    network = load_network(BEIJING)
    ledger = open_ledger(f"sqlite:///{folder}/l.db")
    service = SlotService(network, ledger, reoptimise_every=None)
    dispatcher = Dispatcher(network, ledger)
    dispatcher.start()
    yield create_app(service, KEYSTORE, dispatcher=dispatcher)
    dispatcher.close()
    service.close()


@fake_schema.parametrize()
@SETTINGS
def test_fake_service_no_server_errors(case):
    case.call_and_validate(headers=HEADERS, checks=CHECKS)


def test_real_service_no_server_errors(real_app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", real_app)
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode, examples in ((GenerationMode.POSITIVE, 20), (GenerationMode.NEGATIVE, 10)):
            @given(case=operation.as_strategy(mode))
            @settings(SETTINGS, max_examples=examples)
            def check(case):
                case.call_and_validate(headers=HEADERS, checks=CHECKS)

            try:
                check()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # an operation without inputs
