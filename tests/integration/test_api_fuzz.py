"""A bounded property-based fuzz of all three services, driven by their own OpenAPI documents (schemathesis).

Schemathesis generates requests for every operation (bodies, query, path and
header parameters), both fitting the schema and breaking it; each is sent to
the real app (its real lifespan, PostgreSQL and NATS) with a valid bearer token
(a facilitator's or the operator's, in turn), with path ids often replaced by
real ones so requests reach past 404. Every answer must be below 500, every
error ``application/problem+json``, and an error must leave no event in the log
(each request carries its own ``X-Request-Id``, the events' correlation id).
Every answer is also checked against the served document by schemathesis's own
checks: its status is documented for the operation, its content type is one
the document names for that status, and its body matches the documented schema.
Generation is derandomized, so a run is repeatable; the budget is fixed per
operation (``COPRO_FUZZ_EXAMPLES`` raises it for a longer run).
"""

from __future__ import annotations

import contextlib
import os
import random
import time
import uuid
from collections import Counter
from typing import Any

import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from litestar.testing import AsyncTestClient
from schemathesis.core import NOT_SET
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from shared.eventlog.store import EventStore
from tests.integration.decisions_client import Group, add, make_group, soon

EXAMPLES = int(os.environ.get("COPRO_FUZZ_EXAMPLES", "12"))
SKIPPED = ("/events/stream", "/schema")
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]
"""The Server-Sent Events stream never ends (its bad input is tested in test_strict_input); the docs UI is static."""


def collect(operation: Any, mode: GenerationMode, count: int) -> list[Any]:
    """``count`` cases for one operation, drawn without shrinking (a failure is reported with its request)."""
    cases: list[Any] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=count, database=None, derandomize=True, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def draw(case: Any) -> None:
        cases.append(case)

    with contextlib.suppress(Unsatisfiable):  # nothing in this operation can be made invalid (no body, no parameters)
        draw()
    return cases


class Fuzz:
    def __init__(self, store: EventStore, group: Group, operator: dict[str, str], ids: dict[str, str]) -> None:
        self.store, self.group, self.operator, self.ids = store, group, operator, ids
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self.undocumented: list[str] = []
        self.sent = 0
        self.rng = random.Random(11)

    def path(self, case: Any) -> str:
        values = dict(case.path_parameters or {})
        for name in values:
            if name in self.ids and self.rng.random() < 0.8:
                values[name] = self.ids[name]
        path = str(case.path)
        for name, value in values.items():
            path = path.replace("{" + name + "}", str(value))
        return path

    async def send(self, client: AsyncTestClient, service: str, case: Any) -> None:  # type: ignore[type-arg]
        self.sent += 1
        request_id = uuid.uuid4()
        auth = self.group.tokens["facilitator"] if self.sent % 2 else self.operator
        headers = {str(k): str(v) for k, v in (case.headers or {}).items() if str(k).lower() != "authorization"}
        headers.update({**auth, "X-Request-Id": str(request_id)})
        content: bytes | None = None
        if case.body is not NOT_SET:
            content = msgspec.json.encode(case.body)
            headers["Content-Type"] = "application/json"
        path = self.path(case)
        try:
            response = await client.request(case.method, path, params=case.query or None, headers=headers,
                                            content=content)
        except Exception as exc:  # a client-side failure to send is a finding too
            self.failures.append(f"{service} {case.method} {path}: could not be sent ({exc!r})")
            return
        status = response.status_code
        self.statuses[status] += 1
        what = f"{service} {case.method} {path} {case.query or ''} {content[:200] if content else ''!r}"
        try:
            case.validate_response(response, checks=CONFORMANCE)
        except BaseExceptionGroup as group:  # schemathesis raises a group naming each failed check
            found = "; ".join(" ".join(str(e).split())[:240] for e in group.exceptions)
            self.undocumented.append(f"{what} -> {status} {response.headers.get('content-type')}: {found}")
        if status >= 500:
            self.failures.append(f"{what} -> {status} {response.text[:300]}")
        elif status >= 400:
            if not response.headers.get("content-type", "").startswith("application/problem+json"):
                self.failures.append(f"{what} -> {status} as {response.headers.get('content-type')}")
            left = await self.store.pool.fetchval("SELECT count(*) FROM events WHERE correlation_id = $1", request_id)
            if left:
                self.failures.append(f"{what} -> {status} but left {left} event(s) in the log")


@pytest.fixture(scope="module")
async def fuzz(api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient,  # type: ignore[type-arg]
               publishing: AsyncTestClient, store: EventStore) -> Fuzz:  # type: ignore[type-arg]
    group = await make_group(api, operator)
    facilitator = group.tokens["facilitator"]
    victim = await add(api, operator, group, "victim", "member", org=1)
    proposal = await api.post(f"{group.base}/proposals", headers=facilitator, json={
        "kind": "choice", "title": "Venue", "closes_at": soon(days=2),
        "options": [{"label": "Hall", "id": "hall"}, {"label": "Library", "id": "library"}]})
    meeting = await scheduling.post(f"{group.base}/meetings", headers=facilitator, json={
        "title": "Weekly", "starts_at": soon(days=1), "ends_at": soon(days=1, hours=1), "rrule": "FREQ=WEEKLY;COUNT=4"})
    gathering = await scheduling.post(f"{group.base}/gatherings", headers=facilitator, json={
        "title": "Event", "venue": "Hall", "starts_at": soon(days=30), "ends_at": soon(days=30, hours=6), "capacity": 50})
    item = await publishing.post(f"{group.base}/items", headers=facilitator, json={"kind": "resource", "title": "Guide"})
    for made in (proposal, meeting, gathering, item):
        assert made.status_code == 201, made.text
    ids = {"group_id": group.id, "proposal_id": proposal.json()["proposal_id"], "member_id": victim,
           "meeting_id": meeting.json()["meeting_id"], "gathering_id": gathering.json()["gathering_id"],
           "item_id": item.json()["item_id"], "organisation_id": group.orgs[0]}
    return Fuzz(store, group, operator, ids)


async def test_no_request_the_openapi_documents_allow_or_break_gets_a_5xx(
    fuzz: Fuzz, api: AsyncTestClient, scheduling: AsyncTestClient, publishing: AsyncTestClient  # type: ignore[type-arg]
) -> None:
    started = time.monotonic()
    operations = 0
    for service, client in (("decisions", api), ("scheduling", scheduling), ("publishing", publishing)):
        document = (await client.get("/schema/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(document)
        for result in schema.get_all_operations():
            operation = result.ok()
            if any(part in operation.path for part in SKIPPED):
                continue
            operations += 1
            for mode, count in ((GenerationMode.POSITIVE, EXAMPLES), (GenerationMode.NEGATIVE, EXAMPLES)):
                for case in collect(operation, mode, count):
                    await fuzz.send(client, service, case)
    elapsed = time.monotonic() - started
    print(f"\nfuzz: {fuzz.sent} cases over {operations} operations of 3 services in {elapsed:.1f}s; "
          f"statuses {dict(sorted(fuzz.statuses.items()))}; {len(fuzz.failures)} failure(s); "
          f"{len(fuzz.undocumented)} answer(s) the documents do not describe")
    assert operations >= 60, f"only {operations} operations found: the OpenAPI documents were not read"
    assert fuzz.sent >= operations * EXAMPLES, "too few cases were generated"
    assert sum(n for s, n in fuzz.statuses.items() if s < 300) > 0, "no case got past authentication"
    assert not fuzz.failures, "\n".join(fuzz.failures[:25])
    assert not fuzz.undocumented, "\n".join(fuzz.undocumented[:25])

