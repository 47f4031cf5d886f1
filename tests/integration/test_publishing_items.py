"""Co-produced publishing end to end: drafts, co-authors, consent in decisions through real NATS, feeds."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import feedparser
import msgspec
from litestar.testing import AsyncTestClient

from tests.integration.decisions_client import Group, make_group


class JsonFeedAuthor(msgspec.Struct):
    name: str


class JsonFeedItem(msgspec.Struct):
    id: str
    url: str
    title: str
    content_text: str
    date_published: datetime | None
    authors: list[JsonFeedAuthor]
    tags: list[str]


class JsonFeed(msgspec.Struct):
    """JSON Feed 1.1: version, title and items with ids are required; dates are RFC 3339."""

    version: str
    title: str
    home_page_url: str
    feed_url: str
    items: list[JsonFeedItem]


async def poll(check: Any, seconds: float = 30.0) -> Any:
    for _ in range(int(seconds * 10)):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("not reached in time")


async def draft(publishing: AsyncTestClient, group: Group, title: str) -> str:  # type: ignore[type-arg]
    made = await publishing.post(f"{group.base}/items", headers=group.tokens["member"], json={
        "kind": "reflection", "title": title, "body": "We trusted each other to do everything well.",
        "tags": ["co-production", "events"], "attachments": ["https://example.org/slides.pdf"]})
    assert made.status_code == 201, made.text
    return f"{group.base}/items/{made.json()['item_id']}"


async def decided_by_the_group(api: AsyncTestClient, publishing: AsyncTestClient, group: Group, item: str,  # type: ignore[type-arg]
                               stances: dict[str, str]) -> dict[str, Any]:
    requested = await publishing.post(f"{item}/publication", headers=group.tokens["member"], json={})
    assert requested.status_code == 202, requested.text
    proposal = f"{group.base}/proposals/{requested.json()['proposal_id']}"

    async def opened() -> bool:
        return (await api.get(proposal, headers=group.tokens["member"])).status_code == 200

    await poll(opened)  # decisions opened the consent proposal from the event it received over NATS
    detail = (await api.get(proposal, headers=group.tokens["member"])).json()
    assert detail["kind"] == "consent" and detail["title"].startswith("Publish: ")
    for who, stance in stances.items():
        cast = await api.post(f"{proposal}/ballots", headers=group.tokens[who],
                              json={"choice": {"stance": stance}, "reason": "we need more time to check it"})
        assert cast.status_code == 201, cast.text
    assert (await api.post(f"{proposal}/close", headers=group.tokens["facilitator"])).status_code == 200

    async def settled() -> dict[str, Any] | None:
        body = (await publishing.get(item, headers=group.tokens["member"])).json()
        return body if body["status"] in ("published", "refused") else None

    return await poll(settled)  # type: ignore[no-any-return]


async def test_a_reflection_co_written_across_organisations_is_published_by_consent(
    api: AsyncTestClient, operator: dict[str, str], publishing: AsyncTestClient  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    item = await draft(publishing, group, "What co-producing an event taught us")
    added = await publishing.post(f"{item}/authors", headers=group.tokens["member"],
                                  json={"member_id": group.members["facilitator"], "attribution": "first_name"})
    assert added.status_code == 201, added.text
    revised = await publishing.post(f"{item}/revisions", headers=group.tokens["facilitator"], json={
        "title": "What co-producing an event taught us", "body": "Freedom to contribute as much or as little.",
        "tags": ["co-production"]})
    assert revised.json()["revisions"] == 2
    assert (await publishing.put(f"{item}/attribution", headers=group.tokens["member"],
                                 json={"attribution": "anonymous"})).status_code == 200
    published = await decided_by_the_group(api, publishing, group, item, {"member": "agree", "facilitator": "agree"})
    assert published["status"] == "published"
    assert {a["organisation"] for a in published["authors"]} == {"Partner 0", "Partner 1"}
    assert "A member of Partner 1" in [a["name"] for a in published["authors"]]
    assert "Facilitator" in [a["name"] for a in published["authors"]]  # first name only

    public = f"/public/groups/{group.id}"

    async def listed() -> Any:  # the public list is a read model: it follows the log a moment later
        found = await publishing.get(f"{public}/items")
        return found if found.status_code == 200 and found.json() else None

    items = await poll(listed)
    assert [i["title"] for i in items.json()] == ["What co-producing an event taught us"]
    etag = items.headers["etag"]
    assert (await publishing.get(f"{public}/items", headers={"If-None-Match": etag})).status_code == 304
    assert (await publishing.get(f"{public}/items",
                                 headers={"If-Modified-Since": items.headers["last-modified"]})).status_code == 304
    feed_response = await publishing.get(f"{public}/feed.json")
    assert feed_response.headers["content-type"].startswith("application/feed+json")
    json_feed = msgspec.json.decode(feed_response.content, type=JsonFeed)  # the spec's required fields and types
    assert json_feed.version == "https://jsonfeed.org/version/1.1"
    assert json_feed.items[0].title == "What co-producing an event taught us"
    assert json_feed.items[0].date_published is not None and len(json_feed.items[0].authors) == 2
    atom = feedparser.parse((await publishing.get(f"{public}/feed.atom")).content)
    assert not atom.bozo and atom.version == "atom10"
    assert atom.entries[0].title == "What co-producing an event taught us" and len(atom.entries[0].authors) == 2

    withdrawn = await publishing.post(f"{item}/withdraw", headers=group.tokens["facilitator"],
                                      json={"reason": "we want to add the table plan"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"

    async def gone() -> bool:
        return (await publishing.get(f"{public}/items")).json() == []

    await poll(gone)


async def test_a_blocked_publication_tells_the_authors_why(
    api: AsyncTestClient, operator: dict[str, str], publishing: AsyncTestClient  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    item = await draft(publishing, group, "Table plan notes")
    refused = await decided_by_the_group(api, publishing, group, item, {"facilitator": "block"})
    assert refused["status"] == "refused" and refused["refusal"].startswith("blocked: Blocked:")
    assert (await publishing.get(f"/public/groups/{group.id}/items")).json() == []
    again = await publishing.post(f"{item}/revisions", headers=group.tokens["member"], json={"title": "Table plan v2"})
    assert again.status_code == 201  # a refused item can be revised and asked for again
    assert (await publishing.post(f"{item}/authors", headers=group.tokens["observer"],
                                  json={"member_id": group.members["observer"]})).status_code == 403


async def test_each_service_describes_its_subjects_and_payloads_in_asyncapi_3(
    api: AsyncTestClient, publishing: AsyncTestClient  # type: ignore[type-arg]
) -> None:
    for client, sample, field in ((api, "decisions.ProposalClosed", "outcome"),
                                  (publishing, "publishing.PublicationRequested", "proposal_id")):
        document = (await client.get("/asyncapi.json")).json()
        assert document["asyncapi"] == "3.0.0"
        channel = document["channels"][sample.replace(".", "_")]
        assert channel["address"] == f"copro.{{group_id}}.{sample}"
        message = document["components"]["messages"][sample.replace(".", "_")]
        schema = document["components"]["schemas"][message["payload"]["$ref"].rsplit("/", 1)[1]]
        assert field in schema["properties"] and "ce-position" in message["headers"]["properties"]
        assert all(op["action"] == "send" for op in document["operations"].values())  # the service publishes them


HOSTILE = ['He said "no" & <left>', "]]> </feed> <script>alert(1)</script>", "tab\there bell",
           "emoji 🌱 and rtl \u202e text", "&amp; already escaped &lt;"]


async def test_feeds_stay_valid_on_hostile_titles_tags_and_bodies(
    api: AsyncTestClient, operator: dict[str, str], publishing: AsyncTestClient  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    # control characters XML cannot carry never come in: refused where input starts, naming the field
    refused = await publishing.post(f"{group.base}/items", headers=group.tokens["member"], json={
        "kind": "reflection", "title": "bell\x00\x07\x1b", "body": ""})
    assert refused.status_code == 422 and refused.json()["field"] == "title", refused.text
    made = await publishing.post(f"{group.base}/items", headers=group.tokens["member"], json={
        "kind": "reflection", "title": HOSTILE[0] + HOSTILE[2], "body": "\n".join(HOSTILE),
        "tags": [*HOSTILE[:2], 'quote"in"tag']})
    assert made.status_code == 201, made.text
    item = f"{group.base}/items/{made.json()['item_id']}"
    published = await decided_by_the_group(api, publishing, group, item, {"member": "agree", "facilitator": "agree"})
    assert published["status"] == "published"
    public = f"/public/groups/{group.id}"

    async def in_the_feed() -> Any:
        found = await publishing.get(f"{public}/feed.atom")
        return found if feedparser.parse(found.content).entries else None

    atom_response = await poll(in_the_feed)
    atom = feedparser.parse(atom_response.content)
    assert not atom.bozo, atom.bozo_exception
    [entry] = atom.entries
    assert entry.title == 'He said "no" & <left>tab\there bell'
    assert [t.term for t in entry.tags] == [HOSTILE[0], HOSTILE[1], 'quote"in"tag']
    assert "]]> </feed> <script>alert(1)</script>" in entry.content[0].value and "🌱" in entry.content[0].value
    json_feed = msgspec.json.decode((await publishing.get(f"{public}/feed.json")).content, type=JsonFeed)
    assert json_feed.items[0].title == entry.title

    # conditional GETs compare entity tags weakly (RFC 9110): W/"x" matches "x"; * matches any
    etag = atom_response.headers["etag"]
    for sent in (f"W/{etag}", f'"other", {etag}', "*"):
        assert (await publishing.get(f"{public}/feed.atom", headers={"If-None-Match": sent})).status_code == 304
    assert (await publishing.get(f"{public}/feed.atom", headers={"If-None-Match": '"other"'})).status_code == 200

    # HEAD answers every GET with its headers and no body
    head = await publishing.head(f"{public}/feed.atom")
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag
    assert (await publishing.head("/healthz")).status_code == 200
