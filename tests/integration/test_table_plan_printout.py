"""The printable table plan from the running service: read with a bearer token, or opened in a browser
through a facilitator's print link, which works only while it is unexpired, unrevoked, and its facilitator
still is one."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient

from tests.integration.decisions_client import Group, make_group


def _path(url: str) -> str:
    return url.split("testserver.local", 1)[-1]


async def _planned(scheduling: AsyncTestClient, group: Group) -> str:  # type: ignore[type-arg]
    start = datetime(2026, 9, 12, 9, tzinfo=UTC)
    made = await scheduling.post(f"{group.base}/gatherings", headers=group.tokens["facilitator"], json={
        "title": "Co-Producing Co-Production", "venue": "Community hall", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=6)).isoformat(), "capacity": 40})
    assert made.status_code == 201, made.text
    base = f"{group.base}/gatherings/{made.json()['gathering_id']}"
    for n in range(22):
        registered = await scheduling.post(f"{base}/attendees", headers=group.tokens["member"], json={
            "name": f"Guest {n + 1}", "perspective": ["lived_experience", "service_provider"][n % 2],
            "organisation": f"Org {n % 3}", "needs": ["step_free"] if n % 7 == 0 else []})
        assert registered.status_code == 201, registered.text
    tables = [{"table_id": f"Table {n + 1}", "size": 2, "features": ["step_free"] if n < 4 else []} for n in range(12)]
    assert (await scheduling.put(f"{base}/tables", headers=group.tokens["facilitator"],
                                 json={"tables": tables})).status_code == 200
    assert (await scheduling.post(f"{base}/table-plan", headers=group.tokens["facilitator"])).status_code == 200
    return base


async def test_a_facilitators_print_link_opens_the_printable_plan_in_a_browser_until_it_stops_being_honest(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    base = await _planned(scheduling, group)
    page = await scheduling.get(f"{base}/table-plan.html", headers=group.tokens["member"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text.index(">Table 2</h2>") < page.text.index(">Table 10</h2>")
    assert (await scheduling.get(f"{base}/table-plan.html")).status_code == 401  # a browser without a link

    assert (await scheduling.post(f"{base}/table-plan/links", headers=group.tokens["member"])).status_code == 403
    issued = await scheduling.post(f"{base}/table-plan/links?hours=2", headers=group.tokens["facilitator"])
    assert issued.status_code == 201, issued.text
    link = issued.json()
    assert datetime.fromisoformat(link["expires_at"]) - datetime.now(UTC) < timedelta(hours=2, minutes=1)
    opened = await scheduling.get(_path(link["url"]))  # no Authorization header: as a browser opens it
    assert opened.status_code == 200, opened.text
    assert "Guest 22" in opened.text and "Saturday 12 September 2026, 10:00" in opened.text
    assert opened.headers["cache-control"] == "private, no-store" and opened.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in opened.headers["content-security-policy"]
    rows = list(csv.DictReader(io.StringIO((await scheduling.get(_path(link["csv_url"]))).text)))
    assert len(rows) == 22
    numbers = [int(r["table"].split()[1]) for r in rows]
    assert numbers == sorted(numbers) and 12 in numbers  # natural order: Table 12 last, not after Table 1
    assert (await scheduling.get(_path(link["url"]) + "x")).status_code == 404  # a guessed address

    # the facilitator who issued it stops being one: the link stops at once
    await api.patch(f"{group.base}/members/{group.members['facilitator']}", headers=operator, json={"roles": ["member"]})
    assert (await scheduling.get(_path(link["url"]))).status_code == 404
    await api.patch(f"{group.base}/members/{group.members['facilitator']}", headers=operator,
                    json={"roles": ["facilitator"]})
    assert (await scheduling.get(_path(link["url"]))).status_code == 200
    # revoked
    assert (await scheduling.delete(f"{base}/table-plan/links/{link['link_id']}",
                                    headers=group.tokens["facilitator"])).status_code == 204
    assert (await scheduling.get(_path(link["url"]))).status_code == 404
    assert (await scheduling.get(_path(link["csv_url"]))).status_code == 404
    # another group's facilitator cannot issue one for this gathering
    other = await make_group(api, operator)
    foreign = base.replace(group.base, other.base)
    assert (await scheduling.post(f"{foreign}/table-plan/links", headers=other.tokens["facilitator"])).status_code == 404


async def test_access_needs_are_printed_for_those_who_plan_with_them_only(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient  # type: ignore[type-arg]
) -> None:
    """Every member may see who sits where; an attendee's access needs are for facilitators (and print links)."""
    group = await make_group(api, operator)
    base = await _planned(scheduling, group)

    def needs(text: str) -> set[str]:
        return {r["access_needs"] for r in csv.DictReader(io.StringIO(text))}

    planner = await scheduling.get(f"{base}/table-plan.csv", headers=group.tokens["facilitator"])
    assert planner.headers["content-type"] == "text/csv; charset=utf-8"  # one charset, not two
    printed = await scheduling.get(f"{base}/table-plan.html", headers=group.tokens["facilitator"])
    assert printed.headers["content-type"] == "text/html; charset=utf-8"
    assert any("step" in n.lower() for n in needs(planner.text)), needs(planner.text)
    for who in ("member", "observer", "auditor"):
        seen = await scheduling.get(f"{base}/table-plan.csv", headers=group.tokens[who])
        assert seen.status_code == 200 and needs(seen.text) == {""}, (who, needs(seen.text))
        page = await scheduling.get(f"{base}/table-plan.html", headers=group.tokens[who])
        cells = re.findall(r'<td class="needs">(.*?)</td>', page.text)
        assert len(cells) == 22 and set(cells) == {"for facilitators"}, (who, set(cells))  # withheld, not "none"
    printed = await scheduling.get(f"{base}/table-plan.html", headers=group.tokens["facilitator"])
    assert len(set(re.findall(r'<td class="needs">(.*?)</td>', printed.text))) > 1
