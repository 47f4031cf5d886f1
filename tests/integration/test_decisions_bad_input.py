"""Bad input of any shape: a 4xx problem+json naming the field, never a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from tests.integration.decisions_client import make_group, soon


@pytest.fixture(scope="module")
async def setup(api: AsyncTestClient, operator: dict[str, str]) -> dict[str, Any]:  # type: ignore[type-arg]
    group = await make_group(api, operator)
    made = await api.post(f"{group.base}/proposals", headers=group.tokens["member"], json={
        "kind": "choice", "title": "Venue", "closes_at": soon(days=2),
        "options": [{"label": "Hall", "id": "hall"}, {"label": "Library", "id": "library"}]})
    assert made.status_code == 201, made.text
    return {"group": group, "proposal": f"{group.base}/proposals/{made.json()['proposal_id']}"}


CASES = [
    ("group", "POST", "/members", {"name": "", "organisation_id": "x"}, "name"),
    ("group", "POST", "/members", {"name": "A", "organisation_id": "not-a-uuid"}, "organisation_id"),
    ("group", "POST", "/members", {"name": "A", "organisation_id": "00000000-0000-0000-0000-000000000001"},
     "organisation_id"),
    ("group", "POST", "/members", {"name": "A", "organisation_id": "ORG", "roles": ["king"]}, "roles[0]"),
    ("group", "POST", "/members", {"name": "A", "organisation_id": "ORG", "roles": []}, "roles"),
    ("group", "POST", "/members", {"name": "A", "organisation_id": "ORG", "shoe_size": 9}, "shoe_size"),
    ("group", "PUT", "/rule", {"threshold": {"numerator": 3, "denominator": 2}}, "rule.threshold"),
    ("group", "PUT", "/rule", {"threshold": {"numerator": 1, "denominator": 0}}, "threshold.denominator"),
    ("group", "PUT", "/rule", {"counting": "by_height"}, "counting"),
    ("group", "POST", "/proposals", {"kind": "consent", "title": "t"}, "closes_at"),
    ("group", "POST", "/proposals", {"kind": "vote", "title": "t", "closes_at": "SOON"}, "kind"),
    ("group", "POST", "/proposals", {"kind": "consent", "title": "t", "closes_at": "yesterday"}, "closes_at"),
    ("group", "POST", "/proposals", {"kind": "choice", "title": "t", "closes_at": "SOON",
                                     "options": [{"label": "only"}]}, "options"),
    ("group", "POST", "/proposals", {"kind": "time", "title": "t", "closes_at": "SOON",
                                     "options": [{"label": "no times"}]}, "options[0]"),
    ("group", "POST", "/proposals", {"kind": "consent", "title": "t", "closes_at": "SOON",
                                     "opens_at": "2099-01-01T00:00:00Z"}, "closes_at"),
    ("proposal", "POST", "/ballots", {"choice": {"option": "moon"}}, "choice.option"),
    ("proposal", "POST", "/ballots", {"choice": {"option": 7}}, "choice.option"),
    ("proposal", "POST", "/ballots", {"choice": {}}, "choice.option"),
    ("proposal", "POST", "/ballots", {}, "choice"),
    ("proposal", "POST", "/ballots", [], "body"),
    ("proposal", "POST", "/comments", {"text": ""}, "text"),
    ("proposal", "POST", "/amend", {"options": [{"label": "a", "id": "x"}, {"label": "b", "id": "x"}]}, "options"),
]


@pytest.mark.parametrize(("base", "method", "path", "body", "field"), CASES,
                         ids=[f"{c[2]}-{c[4]}-{n}" for n, c in enumerate(CASES)])
async def test_bad_requests_name_the_offending_field(
    api: AsyncTestClient, setup: dict[str, Any], base: str, method: str, path: str, body: Any, field: str  # type: ignore[type-arg]
) -> None:
    group = setup["group"]
    url = (group.base if base == "group" else setup["proposal"]) + path
    text = (str(body).replace("'", '"').replace("ORG", group.orgs[0]).replace('"SOON"', f'"{soon(days=1)}"')
            .replace("True", "true").replace("False", "false"))
    response = await api.request(method, url, headers={**group.tokens["facilitator"],
                                                       "Content-Type": "application/json"}, content=text)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["field"] == field, (problem, response.json())
    assert problem["type"].startswith("urn:copro:problem:") and problem["status"] == response.status_code


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"choice": json_values}, optional={"reason": json_values}),
    st.fixed_dictionaries({"kind": st.sampled_from(["consent", "choice", "ranked", "time", "x"]),
                           "title": json_values, "closes_at": json_values},
                          optional={"options": json_values, "rule": json_values, "max_choices": json_values}),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, target=st.sampled_from(["/proposals", "/members", "/rule", "BALLOTS", "AMEND"]))
async def test_no_body_of_any_shape_gets_a_5xx(
    api: AsyncTestClient, setup: dict[str, Any], body: Any, target: str  # type: ignore[type-arg]
) -> None:
    group = setup["group"]
    url = {"BALLOTS": f"{setup['proposal']}/ballots", "AMEND": f"{setup['proposal']}/amend"}.get(
        target, group.base + target)
    method = "PUT" if target == "/rule" else "POST"
    response = await api.request(method, url, headers=group.tokens["facilitator"], json=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "field" in response.json() or response.status_code in (401, 403, 404, 409)
