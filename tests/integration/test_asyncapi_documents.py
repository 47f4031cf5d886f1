"""The AsyncAPI 3 documents and the event catalogue, as served, against the official schema and the real wire.

Each service's ``/asyncapi.json`` and the combined ``/asyncapi/copro.json`` are
validated with the AsyncAPI 3.0.0 JSON Schema (vendored from ``@asyncapi/specs``);
then real events of a group (a member with a name, a ballot sealed under
``after_close`` with a reason) are read from JetStream and each payload is
validated against its message's schema in the combined document: the
documents describe what actually travels (``pii:v1:`` and ``sealed:v1:``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import jsonschema
import msgspec
import pytest
from litestar.testing import AsyncTestClient
from nats.aio.client import Client

from shared.runtime.discovery import contracts
from tests.integration.decisions_client import make_group, soon

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "asyncapi" / "asyncapi-3.0.0.schema.json"
SERVICES = ("decisions", "scheduling", "publishing")


@pytest.fixture(scope="module")
def asyncapi_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(FIXTURE.read_text()))


@pytest.fixture(scope="module")
async def served(api: AsyncTestClient, scheduling: AsyncTestClient,  # type: ignore[type-arg]
                 publishing: AsyncTestClient) -> dict[str, Any]:  # type: ignore[type-arg]
    out: dict[str, Any] = {}
    for service, client in zip(SERVICES, (api, scheduling, publishing), strict=True):
        out[service] = (await client.get("/asyncapi.json")).json()
        assert (await client.get("/asyncapi/copro.json")).json() == (await api.get("/asyncapi/copro.json")).json()
    out["copro"] = (await api.get("/asyncapi/copro.json")).json()
    out["catalogue"] = (await publishing.get("/events/catalogue.json")).json()
    return out


@pytest.mark.parametrize("name", [*SERVICES, "copro"])
def test_each_document_is_valid_asyncapi_3(served: dict[str, Any], asyncapi_validator: jsonschema.Draft7Validator,
                                           name: str) -> None:
    document = served[name]
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in asyncapi_validator.iter_errors(document)]
    assert not errors, "\n".join(errors[:10])
    assert document["asyncapi"] == "3.0.0"
    broken = json.loads(json.dumps(document))
    next(iter(broken["operations"].values()))["action"] = "publish"  # the validator does reject a wrong document
    assert any(True for _ in asyncapi_validator.iter_errors(broken))


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_sends_exactly_its_own_events(served: dict[str, Any], service: str) -> None:
    document = served[service]
    own = {f"{t.__struct_config__.tag}" for c in contracts() if c.service == service for t in c.types}
    sent = {m["name"] for m in document["components"]["messages"].values()}
    assert sent == own
    assert {op["action"] for op in document["operations"].values()} == {"send"}
    assert document["servers"]["nats"]["protocol"] == "nats"
    assert document["servers"]["nats"]["security"] == [{"$ref": "#/components/securitySchemes/natsUser"}]
    assert document["channels"]["group"]["address"] == "copro.{group_id}.>"  # the partner subjects


def test_personal_and_sealed_fields_are_documented_as_they_travel(served: dict[str, Any]) -> None:
    schemas = served["copro"]["components"]["schemas"]
    personal = [(t.__name__, f) for c in contracts() for t in c.types for f in getattr(t, "__personal__", ())]
    assert len(personal) >= 5
    for struct, field in personal:
        documented = schemas[struct]["properties"][field]
        if documented.get("x-copro-sealed"):
            documented = documented["anyOf"][0]
        assert documented.get("x-copro-personal") is True and "pii:v1:" in documented["description"], (struct, field)
        assert documented["oneOf"][0]["pattern"].startswith("^pii:v1:")
    ballot = schemas["BallotCast"]["properties"]
    assert ballot["choice"]["x-copro-sealed"] and ballot["reason"]["x-copro-sealed"]
    assert ballot["sealed"]["oneOf"][0]["pattern"].startswith("^sealed:v1:")


def test_the_catalogue_is_served_with_versions_subjects_fields_and_examples(served: dict[str, Any]) -> None:
    catalogue = {entry["type"]: entry for entry in served["catalogue"]}
    assert set(catalogue) == {m["name"] for m in served["copro"]["components"]["messages"].values()}
    ballot = catalogue["decisions.BallotCast"]
    assert ballot["version"] >= 1 and ballot["subject"] == "copro.{group_id}.decisions.BallotCast"
    assert ballot["personal"] == ["reason"] and ballot["sealed"] == ["choice", "reason"]
    for entry in catalogue.values():
        jsonschema.Draft202012Validator(entry["schema"]).validate(entry["example"])


def _validator(document: dict[str, Any], message: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"components": document["components"], **message["payload"]})


async def test_real_events_on_nats_match_their_documented_messages(
    served: dict[str, Any], api: AsyncTestClient, operator: dict[str, str], nats_client: Client  # type: ignore[type-arg]
) -> None:
    document = served["copro"]
    messages = {m["name"]: m for m in document["components"]["messages"].values()}
    for message in messages.values():
        for case in message["examples"]:
            _validator(document, message).validate(case["payload"])
    group = await make_group(api, operator)
    proposal = await api.post(f"{group.base}/proposals", headers=group.tokens["facilitator"], json={
        "kind": "consent", "title": "Quiet room", "closes_at": soon(days=3), "visibility": "after_close"})
    assert proposal.status_code == 201, proposal.text
    ballot = await api.post(f"{group.base}/proposals/{proposal.json()['proposal_id']}/ballots",
                            headers=group.tokens["member"], json={"choice": {"stance": "block"}, "reason": "Too loud"})
    assert ballot.status_code == 201, ballot.text
    js = nats_client.jetstream()
    subscription = await js.pull_subscribe(f"copro.{group.id}.>", durable=None, stream="COPRO")
    seen: dict[str, list[Any]] = {}
    deadline = asyncio.get_running_loop().time() + 20
    while "decisions.BallotCast" not in seen and asyncio.get_running_loop().time() < deadline:
        try:
            batch = await subscription.fetch(50, timeout=1)
        except TimeoutError:
            continue
        for msg in batch:
            payload = msgspec.json.decode(msg.data)
            name = msg.headers["ce-type"]
            _validator(document, messages[name]).validate(payload)
            seen.setdefault(name, []).append(payload)
    sealed = seen["decisions.BallotCast"][0]
    assert sealed["choice"] is None and sealed["reason"] is None and sealed["sealed"].startswith("sealed:v1:")
    assert all(m["name"].startswith("pii:v1:") for m in seen["decisions.MemberAdded"])
