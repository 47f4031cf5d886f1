"""The served OpenAPI documents, as a code generator reads them: valid, secured, honest about errors, with examples.

Each document is fetched from the running service (real lifespan, PostgreSQL
and NATS) and checked by an independent validator (openapi-spec-validator);
every example by jsonschema against its own schema; every status the
authorization matrix expects of a route must be documented for it; and the
docs UI at ``/schema`` loads nothing from outside copro.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
from litestar.testing import AsyncTestClient
from openapi_spec_validator import validate

from shared.web.problems import PROBLEM_MEDIA_TYPE
from tests.integration.authorization_table import TABLE

SERVICES = ("decisions", "scheduling", "publishing")
METHODS = ("get", "put", "post", "delete", "patch")
PUBLIC = {"/healthz", "/readyz", "/metrics", "/checkpoints/key", "/asyncapi.json", "/asyncapi/copro.json",
          "/events/catalogue.json", "/calendar/{token}", "/sign-in", "/table-plans/{token}"}


@pytest.fixture(scope="module")
async def documents(api: AsyncTestClient, scheduling: AsyncTestClient,  # type: ignore[type-arg]
                    publishing: AsyncTestClient) -> dict[str, dict[str, Any]]:  # type: ignore[type-arg]
    out = {}
    for service, client in zip(SERVICES, (api, scheduling, publishing), strict=True):
        response = await client.get("/schema/openapi.json")
        assert response.status_code == 200, response.text
        out[service] = response.json()
    return out


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, item[method]) for path, item in document["paths"].items() for method in METHODS
            if method in item]


@pytest.mark.parametrize("service", SERVICES)
def test_an_independent_validator_accepts_each_document(documents: dict[str, dict[str, Any]], service: str) -> None:
    document = documents[service]
    validate(document)  # openapi-spec-validator, OpenAPI 3.1
    assert document["openapi"].startswith("3.1")


@pytest.mark.parametrize("service", SERVICES)
def test_operations_have_readable_unique_ids_tags_and_security(
    documents: dict[str, dict[str, Any]], service: str
) -> None:
    document = documents[service]
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids)), "operation ids must be unique in a document"
    for path, method, op in operations(document):
        assert re.fullmatch(r"[a-z][a-zA-Z]+", op["operationId"]), op["operationId"]
        assert op.get("tags"), f"{method} {path} has no tag"
        public = path in PUBLIC or path.startswith("/public/")
        assert op["security"] == ([] if public else [{"bearer": []}]), f"{method} {path}: {op['security']}"
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": document["components"]["securitySchemes"]["bearer"][
            "description"]}
    assert {"castBallot", "listProposals", "openProposal"} <= set(ids) or service != "decisions"


@pytest.mark.parametrize("service", SERVICES)
def test_every_error_answer_is_problem_json_and_every_body_has_an_example_that_fits(
    documents: dict[str, dict[str, Any]], service: str
) -> None:
    document = documents[service]
    responses = document["components"]["responses"]

    def resolved(response: dict[str, Any]) -> dict[str, Any]:
        return responses[response["$ref"].rsplit("/", 1)[1]] if "$ref" in response else response

    def fits(where: str, content: dict[str, Any]) -> None:
        for media_type, body in content.items():
            assert "example" in body, f"{where} {media_type} has no example"
            schema = {"components": document["components"], **body["schema"]}
            jsonschema.Draft202012Validator(schema).validate(body["example"])

    for path, method, op in operations(document):
        where = f"{service} {method} {path}"
        if "requestBody" in op:
            fits(where + " request", op["requestBody"]["content"])
        codes = {int(code) for code in op["responses"]}
        assert 500 in codes and 503 in codes, where
        if op["security"]:
            assert {401, 403} <= codes, where
        if "{" in path:
            assert 404 in codes, where
        for code, response in op["responses"].items():
            content = resolved(response).get("content", {})
            if int(code) >= 400:
                assert PROBLEM_MEDIA_TYPE in content, f"{where} {code}"
            fits(f"{where} {code}", content)
        successes = [c for c in codes if c < 300]
        assert successes, where


def test_every_status_the_authorization_matrix_expects_is_documented(documents: dict[str, dict[str, Any]]) -> None:
    missing = []
    for (service, method, path), cases in TABLE.items():
        documented = {int(c) for c in documents[service]["paths"][path][method.lower()]["responses"]}
        for case in cases:
            for principal, status in case.expected.items():
                if status not in documented:
                    missing.append(f"{service} {method} {path} ({case.label}) {principal} -> {status}")
    assert not missing, "\n".join(missing)


def test_responses_carry_their_real_types(documents: dict[str, dict[str, Any]]) -> None:
    def success(service: str, path: str, method: str = "get") -> dict[str, Any]:
        responses = documents[service]["paths"][path][method]["responses"]
        return next(r["content"] for code, r in responses.items() if code.startswith("2"))

    assert success("decisions", "/asyncapi.json")["application/json"]["schema"]["properties"]["asyncapi"] == {
        "const": "3.0.0"}
    assert "text/plain" in success("decisions", "/metrics")
    assert "application/atom+xml" in success("publishing", "/public/groups/{group_id}/feed.atom")
    assert "application/feed+json" in success("publishing", "/public/groups/{group_id}/feed.json")
    assert success("publishing", "/public/groups/{group_id}/items")["application/json"]["schema"]["type"] == "array"
    assert "text/event-stream" in success("publishing", "/groups/{group_id}/events/stream")
    assert "text/calendar" in success("scheduling", "/calendar/{token}")
    assert "304" in documents["publishing"]["paths"]["/public/groups/{group_id}/feed.atom"]["get"]["responses"]
    for service, document in documents.items():
        for path, method, op in operations(document):
            for code, response in op["responses"].items():
                for media_type, body in response.get("content", {}).items():
                    untyped = body["schema"] in ({}, {"type": "string"}) and media_type.endswith("json")
                    assert not untyped, f"{service} {method} {path} {code} {media_type}: {body['schema']}"


async def test_the_docs_ui_loads_only_what_copro_serves(api: AsyncTestClient) -> None:  # type: ignore[type-arg]
    for path in ("/schema", "/schema/swagger"):
        page = await api.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        html = page.text
        assert "https://" not in html.split("spec:")[0] and "http://" not in html.split("spec:")[0]
        referenced = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert len(referenced) == 4, referenced  # favicon, stylesheet, bundle, preset
        for url in referenced:
            assert url.startswith("/schema/assets/"), url
            asset = await api.get(url)
            assert asset.status_code == 200 and len(asset.content) > 500, url
            assert asset.headers["content-type"].count("charset") <= 1, asset.headers["content-type"]
        assert '"castBallot"' in html  # the finished document is embedded
    assert (await api.get("/schema/assets/../../pyproject.toml")).status_code == 404


def _walk(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [found for item in node for found in _walk(item)]
    if not isinstance(node, dict):
        return []
    return [node, *(found for value in node.values() for found in _walk(value))]


@pytest.mark.parametrize("service", SERVICES)
def test_the_document_says_what_the_service_refuses_and_accepts(documents: dict[str, dict[str, Any]],
                                                                 service: str) -> None:
    """What a partner's validator found the documents did not say (each was a finding)."""
    document = documents[service]
    schemas = document["components"]["schemas"]
    for path, method, op in operations(document):
        body = op.get("requestBody")
        if body is None:
            continue
        for name in re.findall(r'#/components/schemas/(\w+)', str(body)):
            # a field the service does not know is refused, so the schema says none is allowed
            assert schemas[name].get("additionalProperties") is False, (path, method, name)
        # a body with a default (a token's expiry) may be left out
        assert body["required"] is ("'type': 'null'" not in str(body)), (path, method, body)
        if op["security"]:  # an authenticated write: a forgotten person is gone (410)
            assert "410" in op["responses"], (path, method)
    # an integer's bounds are integers: float(2**63 - 1) is 2**63, which a generated client would send in vain
    for node in _walk(document):
        if node.get("type") == "integer":
            assert not any(isinstance(node.get(k), float) for k in ("minimum", "maximum")), node


def test_request_types_carry_every_bound_the_service_checks(documents: dict[str, dict[str, Any]]) -> None:
    """Litestar dropped ``ge=0`` on an optional integer and the bounds of map values and list items, so a partner's
    generated requests were refused (the partner's find): request types are described as msgspec decodes them."""
    schemas = documents["decisions"]["components"]["schemas"]
    quorum = schemas["RuleIn"]["properties"]["quorum_per_organisation"]
    assert {"minimum": 0, "maximum": 1000}.items() <= next(o for o in quorum["anyOf"] if o.get("type") == "integer").items()
    choice = schemas["Choice"]["properties"]
    assert {"minimum": 0, "maximum": 1000}.items() <= choice["scores"]["additionalProperties"].items()
    assert choice["ranking"]["items"].get("maxLength") == 64
