"""The Litestar shell every service shares: health, auth, problem+json, OpenAPI."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from shared.domain.ids import new_id
from shared.eventlog.store import EventStore
from shared.runtime.embedded import EmbeddedNats
from shared.runtime.settings import Settings
from tests.conftest import eventually, wait_sealed
from tests.integration.events import noted


@pytest.fixture(scope="module")
def client(api: AsyncTestClient) -> AsyncTestClient:  # type: ignore[type-arg]
    """The decisions service (from conftest): the shell is the same in every service."""
    return api


async def test_health_and_readiness(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert {"database", "nats"} <= set(checks) and set(checks.values()) == {"ok"}


async def test_operator_token_file_is_private(settings: Settings, operator: dict[str, str]) -> None:
    assert settings.operator_token_path.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc"])
async def test_missing_or_bad_tokens_are_401_problems(client: AsyncTestClient, header: str | None) -> None:  # type: ignore[type-arg]
    response = await client.get("/log", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == "urn:copro:problem:unauthenticated" and body["field"] == "Authorization"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("query", "field"), [("limit=abc", "limit"), ("after=-1", "after"), ("limit=5000", "limit")])
async def test_bad_query_values_name_the_field(
    client: AsyncTestClient, operator: dict[str, str], query: str, field: str  # type: ignore[type-arg]
) -> None:
    response = await client.get(f"/log?{query}", headers=operator)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == field


async def test_unknown_route_and_method_are_problems(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    for response, status in ((await client.get("/nothing-here"), 404), (await client.post("/healthz"), 405)):
        assert response.status_code == status
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_log_reads_in_global_order_with_a_cursor(
    client: AsyncTestClient, operator: dict[str, str], store: EventStore  # type: ignore[type-arg]
) -> None:
    group = new_id()
    for i in range(3):
        await store.append(group_id=group, stream_id=f"http-{group}-{i}", events=[noted(i)], expected_version=0)
    await wait_sealed(store, 3)
    first = (await client.get("/log?limit=2", headers=operator)).json()
    assert [e["data"]["n"] for e in first["events"]] == [0, 1] and first["next"] == 2
    rest = (await client.get(f"/log?after={first['next']}&limit=2", headers=operator)).json()
    assert [e["data"]["n"] for e in rest["events"]] == [2] and rest["next"] is None


async def test_openapi_31_document_and_ui(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    document = (await client.get("/schema/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert "/readyz" in document["paths"] and "/log" in document["paths"]
    ui = await client.get("/schema")
    assert ui.status_code == 200 and "html" in ui.headers["content-type"]


async def test_metrics_are_exposed_for_prometheus(
    client: AsyncTestClient, operator: dict[str, str]  # type: ignore[type-arg]
) -> None:
    await client.get("/log", headers=operator)
    text = (await client.get("/metrics")).text
    for name in ("copro_appends_total", "copro_publish_lag_events", "copro_http_request_duration_seconds"):
        assert name in text, name


async def test_the_service_relays_the_log_to_jetstream(
    client: AsyncTestClient, store: EventStore, own_nats: EmbeddedNats  # type: ignore[type-arg]
) -> None:
    import nats

    await store.append(group_id=new_id(), stream_id=f"relayed-{new_id()}", events=[noted(7)], expected_version=0)
    head = await store.pool.fetchval("SELECT count(*) FROM events")
    connection = await nats.connect(own_nats.admin_url)
    try:
        async def relayed() -> bool:
            try:
                return bool((await connection.jetstream().stream_info("COPRO")).state.messages >= head)
            except Exception:
                return False

        await eventually(relayed, 60, "the service's relay published the log")
    finally:
        await connection.close()
