"""The authorization matrix: every route of the three services' OpenAPI documents, called by every kind of
principal, answers exactly the status its entry in ``authorization_table.TABLE`` expects.

The cases are generated from the OpenAPI documents, not from the table: a route added without an
expectation is a failing case (and ``test_every_route_has_an_expectation`` names it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from shared.eventlog.store import EventStore
from shared.runtime.embedded import EmbeddedNats
from tests.integration.authorization_table import KERNEL_PUBLIC, TABLE
from tests.integration.authorization_world import PRINCIPALS, World, build
from tests.integration.served import served

METHODS = ("get", "head", "post", "put", "patch", "delete", "options")


def openapi_routes() -> list[tuple[str, str, str]]:
    """(service, METHOD, path) of every operation the three services document."""
    from services.decisions.app import create_app as decisions
    from services.publishing.app import create_app as publishing
    from services.scheduling.app import create_app as scheduling

    out = []
    for name, create in (("decisions", decisions), ("scheduling", scheduling), ("publishing", publishing)):
        paths = create().openapi_schema.to_schema()["paths"]
        out += [(name, method.upper(), path) for path, item in paths.items() for method in item if method in METHODS]
    return out


ROUTES = openapi_routes()
CASES = [(r, n, who) for r in ROUTES for n in range(max(len(TABLE.get(r, [])), 1)) for who in PRINCIPALS]


def _id(route: tuple[str, str, str], n: int, who: str) -> str:
    cases = TABLE.get(route, [])
    label = f"[{cases[n].label}]" if n < len(cases) and cases[n].label else ""
    return f"{route[0]} {route[1]} {route[2]}{label} as {who}"


@pytest.fixture(scope="module")
async def world(api: AsyncTestClient, scheduling: AsyncTestClient, publishing: AsyncTestClient,  # type: ignore[type-arg]
                operator: dict[str, str], store: EventStore, database_url: str, own_nats: EmbeddedNats,
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    built = await build(api, scheduling, publishing, operator, store)
    with served("publishing", database_url, own_nats, Path(tmp_path_factory.mktemp("served"))) as base:
        built.stream_base = base
        yield built


def test_every_route_has_an_expectation_and_every_expectation_a_route() -> None:
    documented = set(ROUTES)
    assert not documented - TABLE.keys(), f"routes without an expectation: {sorted(documented - TABLE.keys())}"
    assert not TABLE.keys() - documented, f"expectations for no route: {sorted(TABLE.keys() - documented)}"
    assert all(set(case.expected) == set(PRINCIPALS) for cases in TABLE.values() for case in cases)


@pytest.mark.parametrize(("route", "n", "who"), CASES, ids=[_id(*c) for c in CASES])
async def test_route_answers_each_principal_as_the_table_says(
    world: World, route: tuple[str, str, str], n: int, who: str
) -> None:
    assert route in TABLE, f"{route} has no expectation in authorization_table.TABLE: say who may call it"
    case = TABLE[route][n]
    response: Any = await case.act(world, world.headers[who])
    want = case.expected[who]
    assert response.status_code == want, f"{_id(route, n, who)}: {response.status_code} {response.text[:300]}"
    if want >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), response.text[:300]


def test_the_log_process_serves_nothing_but_what_any_service_serves_to_anyone() -> None:
    """The log process (sealer, relay, signer; port 8104) publishes no OpenAPI document for the matrix to
    read. Its routes are held here to the kernel's public ones, which the matrix checks on every service for
    every principal: a route added there without an entry in the matrix fails this test."""
    from shared.web.log_process import create_app

    served = {route.path for route in create_app().routes}
    assert served and served <= set(KERNEL_PUBLIC), f"log process routes outside the matrix: {served - set(KERNEL_PUBLIC)}"
