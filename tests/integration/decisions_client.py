"""Helpers that drive the decisions API (its fixtures are in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def soon(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


class Group:
    """A group with one member per role, each with a token."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.id = body["group_id"]
        self.orgs = [o["id"] for o in body["organisations"]]
        self.tokens: dict[str, dict[str, str]] = {}
        self.members: dict[str, str] = {}

    @property
    def base(self) -> str:
        return f"/groups/{self.id}"


async def make_group(api: AsyncTestClient, operator: dict[str, str], orgs: int = 3) -> Group:  # type: ignore[type-arg]
    created = await api.post("/groups", headers=operator, json={
        "name": "Co-Producing Co-Production", "organisations": [{"name": f"Partner {n}"} for n in range(orgs)]})
    assert created.status_code == 201, created.text
    group = Group(created.json())
    for n, role in enumerate(("facilitator", "member", "observer", "auditor")):
        await add(api, operator, group, role, role, org=n % orgs, lived=role == "member")
    return group


async def add(api: AsyncTestClient, operator: dict[str, str], group: Group, label: str, role: str,  # type: ignore[type-arg]
              org: int = 0, lived: bool = False, name: str | None = None) -> str:
    member = await api.post(f"{group.base}/members", headers=operator, json={
        "name": name or f"{label.title()} Person", "organisation_id": group.orgs[org], "lived_experience": lived,
        "roles": [role]})
    assert member.status_code == 201, member.text
    member_id = member.json()["member_id"]
    token = await api.post(f"{group.base}/members/{member_id}/tokens", headers=operator)
    assert token.status_code == 201, token.text
    group.tokens[label] = bearer(token.json()["token"])
    group.members[label] = member_id
    return member_id
