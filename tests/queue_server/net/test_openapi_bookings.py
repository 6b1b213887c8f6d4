"""docs/openapi/bookings.yaml against a running server: every answer the bookings API
gives (each operation, each status it documents) has a status the file lists for that
operation and a body its schema accepts; the file's own schemas are valid JSON Schema
(OpenAPI 3.1 uses draft 2020-12) and every reference in it resolves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy.exc import OperationalError

from queue_server.client import QueueClient
from queue_server.net.forms import MAX_JSON_BYTES
from tests.conftest import LiveServer
from tests.queue_server.net.test_bookings_api import api, local

SPEC_PATH = Path(__file__).resolve().parents[3] / "docs" / "openapi" / "bookings.yaml"
SPEC = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
BASE = "urn:walkin:bookings-openapi"
REGISTRY = Registry().with_resource(BASE, Resource.from_contents(SPEC, DRAFT202012))


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """A ``$ref`` into the file, followed (an OpenAPI response or parameter)."""
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(
        {"$id": f"{BASE}-check", **schema} if "$ref" not in schema else schema,
        registry=REGISTRY,
        format_checker=FormatChecker(),
    )


def schema_of(path: str, method: str, status: int) -> dict[str, Any]:
    operation = SPEC["paths"][path][method.lower()]
    responses = operation["responses"]
    assert str(status) in responses, f"{method} {path}: {status} is not documented"
    response = resolve(responses[str(status)])
    schema = response["content"]["application/json"]["schema"]
    return _absolute(schema)


def _absolute(schema: Any) -> Any:
    """The schema with its ``#/...`` references made absolute (into ``BASE``)."""
    if isinstance(schema, dict):
        return {
            k: (f"{BASE}{v}" if k == "$ref" and v.startswith("#") else _absolute(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_absolute(v) for v in schema]
    return schema


def test_the_file_is_openapi_3_with_valid_schemas_and_references() -> None:
    assert SPEC["openapi"].startswith("3.1")
    for name, schema in SPEC["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
        assert "$ref" in schema or "type" in schema, name

    def references(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if "$ref" in node else []
            return found + [r for v in node.values() for r in references(v)]
        if isinstance(node, list):
            return [r for v in node for r in references(v)]
        return []

    for ref in references(SPEC):
        resolve({"$ref": ref})  # a KeyError names one that does not resolve
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation["responses"], f"{method} {path}"
            for status, response in operation["responses"].items():
                assert "application/json" in resolve(response)["content"], (path, method, status)


def test_the_request_schema_agrees_with_the_server_on_what_is_valid() -> None:
    booking_in = validator(_absolute(SPEC["components"]["schemas"]["BookingIn"]))
    good = {"ref": "BK-1", "service": "housing", "time": "2026-11-24T09:30:00+00:00"}
    assert booking_in.is_valid(good)
    assert booking_in.is_valid({**good, "time": "2026-11-24T09:30", "language": "pl"})
    for bad in (
        {**good, "ref": "BK 1!"},
        {**good, "ref": 1},
        {**good, "time": "tomorrow"},
        {**good, "language": "Polish"},
        {**good, "name": "Ann Smith"},
        {"ref": "BK-1", "service": "housing"},
    ):
        assert not booking_in.is_valid(bad), bad


async def test_every_answer_of_a_running_server_is_as_the_file_says(
    live_clocked: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # on the test's clock (a weekday morning): a booking 5 minutes ahead made just
    # before midnight would be for tomorrow, and the kiosk's check-in refused
    live = live_clocked
    token = live.store.enroll_device(live.setup.centre_id, "integration", "OpenAPI check")
    checked: set[tuple[str, str, int]] = set()

    async def check(
        method: str, url: str, spec_path: str, body: Any = None, **kw: Any
    ) -> dict[str, Any]:
        kw.setdefault("token", token)
        answer = await api(live, method, url, body, **kw)
        errors = sorted(
            validator(schema_of(spec_path, method, answer.status)).iter_errors(answer.body),
            key=str,
        )
        assert not errors, f"{method} {url} -> {answer.status} {answer.body}: {errors[0]}"
        if answer.status == 401:
            assert answer.headers["www-authenticate"].startswith("Bearer")
        checked.add((spec_path, method, answer.status))
        return dict(answer.body)

    one = "/api/bookings/{ref}"
    booking = {"ref": "BK-5001", "service": "housing", "time": local(live, 5), "language": "cy"}
    await check("POST", "/api/bookings", "/api/bookings", booking)
    await check("POST", "/api/bookings", "/api/bookings", booking)
    await check("POST", "/api/bookings", "/api/bookings", {**booking, "time": local(live, 6)})
    await check("POST", "/api/bookings", "/api/bookings", {**booking, "service": "x", "time": "y"})
    await check("POST", "/api/bookings", "/api/bookings", None, raw=b"[", token=token)
    huge = json.dumps({**booking, "language": "x" * MAX_JSON_BYTES}).encode()
    await check("POST", "/api/bookings", "/api/bookings", raw=huge)
    await check("POST", "/api/bookings", "/api/bookings", booking, token=None)
    await check("POST", "/api/bookings", "/api/bookings", booking, token=live.kiosk_token)
    day = live.server.centre.local_day(live.server.clock()).isoformat()
    await check("GET", f"/api/bookings?date={day}", "/api/bookings")
    await check("GET", "/api/bookings?date=someday", "/api/bookings")
    await check("GET", "/api/bookings?date=" + day, "/api/bookings", token="wk_nope")
    await check("GET", "/api/bookings?date=" + day, "/api/bookings", token=live.board_token)
    await check("GET", "/api/bookings/BK_5001", one)
    await check("GET", "/api/bookings/BK-5001", one, token=None)
    await check("GET", "/api/bookings/bk5001", one)
    await check("GET", "/api/bookings/BK-0000", one)
    await check("GET", "/api/bookings/BK-5001", one, token=live.kiosk_token)
    kiosk = await QueueClient(live.url, token=live.kiosk_token, client_name="test").connect()
    try:
        await kiosk.request("check_in", ref="BK-5001", idempotency_key="openapi-5001")
    finally:
        await kiosk.close()
    await check("POST", "/api/bookings", "/api/bookings", {**booking, "time": local(live, 30)})
    await check("DELETE", "/api/bookings/BK-5001", one)
    await check("POST", "/api/bookings", "/api/bookings", {**booking, "ref": "BK-5002"})
    await check("DELETE", "/api/bookings/BK-5002", one)
    await check("DELETE", "/api/bookings/BK-5002", one)
    await check("DELETE", "/api/bookings/BK-5003", one)
    await check("DELETE", "/api/bookings/not!a!ref", one)
    await check("DELETE", "/api/bookings/BK-5002", one, raw=b"{}")
    await check("DELETE", "/api/bookings/BK-5002", one, token=None)
    await check("DELETE", "/api/bookings/BK-5002", one, token=live.kiosk_token)

    # the database stops answering: every operation says so, and nothing is changed
    def gone(token: str) -> None:
        raise OperationalError("SELECT device", {}, Exception("server closed the connection"))

    monkeypatch.setattr(live.store, "device_for_token", gone)
    before = dict(live.server.centre.appointments)
    await check("POST", "/api/bookings", "/api/bookings", {**booking, "ref": "BK-5009"})
    await check("GET", f"/api/bookings?date={day}", "/api/bookings")
    await check("GET", "/api/bookings/BK-5002", one)
    await check("DELETE", "/api/bookings/BK-5002", one)
    assert live.server.centre.appointments == before

    documented = {
        (path, method.upper(), int(status))
        for path, item in SPEC["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
        for status in operation["responses"]
    }
    assert documented == checked


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_methods_the_file_does_not_list_are_refused(live: LiveServer, method: str) -> None:
    for path in SPEC["paths"]:
        assert method.lower() not in SPEC["paths"][path]
    answer = await api(live, method, "/api/bookings/BK-1")
    assert answer.status == 405 and answer.headers["allow"] == "GET, DELETE"
