"""Public feeds of a group's published items, for anyone (no token): JSON, JSON Feed 1.1 and Atom.

Responses carry ETag and Last-Modified, and a matching conditional GET is
answered 304, so feed readers polling every few minutes cost next to nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get

from services.publishing.context import Publishing
from services.publishing.domain.items import Item
from services.publishing.http.atom import atom
from services.publishing.http.schemas import ItemOut, item_out
from shared.web.openapi import documented

TAGS = ["public feeds"]
NOT_MODIFIED: dict[int, tuple[str, dict[str, Any]]] = {
    304: ("Not modified: the If-None-Match (or If-Modified-Since) given still holds", {})}
_TEXT = {"type": "string"}
JSON_FEED = {
    "type": "object", "description": "a JSON Feed 1.1 (https://jsonfeed.org/version/1.1)",
    "required": ["version", "title", "items"],
    "properties": {
        "version": {"const": "https://jsonfeed.org/version/1.1"}, "title": _TEXT, "home_page_url": _TEXT,
        "feed_url": _TEXT,
        "items": {"type": "array", "items": {"type": "object", "required": ["id"], "properties": {
            "id": _TEXT, "url": _TEXT, "title": _TEXT, "content_text": {"type": ["string", "null"]},
            "date_published": {"type": ["string", "null"], "format": "date-time"},
            "tags": {"type": "array", "items": _TEXT},
            "authors": {"type": "array", "items": {"type": "object", "properties": {"name": _TEXT}}},
            "attachments": {"type": "array", "items": {"type": "object", "properties": {
                "url": _TEXT, "mime_type": _TEXT}}}}}},
    },
}


async def _published(service: Publishing, group_id: uuid.UUID) -> tuple[list[ItemOut], datetime | None]:
    roster = await service.members.existing(group_id)
    rows = await service.store.pool.fetch(
        "SELECT state FROM publishing_items WHERE group_id = $1 AND status = 'published'"
        " ORDER BY published_at DESC LIMIT 100", group_id)
    items = [item_out(msgspec.msgpack.decode(r["state"], type=Item), roster, published=True) for r in rows]
    return items, max((i.published_at for i in items if i.published_at), default=None)


def _opaque(tag: str) -> str:
    """An entity tag without its weakness: If-None-Match compares weakly (RFC 9110 §8.8.3.2)."""
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def _matches(if_none_match: str, etag: str) -> bool:
    return if_none_match.strip() == "*" or _opaque(etag) in {_opaque(t) for t in if_none_match.split(",")}


def _cached(request: Request[Any, Any, Any], body: bytes, modified: datetime | None, media_type: str) -> Response[bytes]:
    """A response with ETag and Last-Modified that answers 304 to a matching conditional GET."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=60"}
    if modified is not None:
        headers["Last-Modified"] = format_datetime(modified.astimezone(UTC).replace(microsecond=0), usegmt=True)
    match = request.headers.get("if-none-match")
    since = request.headers.get("if-modified-since")
    fresh = match is not None and _matches(match, etag)
    if match is None and since and modified is not None:
        try:
            fresh = modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            fresh = False
    if fresh:
        return Response(b"", status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


class FeedController(Controller):
    path = "/public/groups/{group_id:uuid}"
    tags = TAGS

    @get("/items", summary="Published items as JSON (no token needed)",
         opt=documented({"application/json": list[ItemOut]}, NOT_MODIFIED))
    async def public_items(self, request: Request[Any, Any, Any], service: Publishing,
                           group_id: uuid.UUID) -> Response[bytes]:
        items, modified = await _published(service, group_id)
        return _cached(request, msgspec.json.encode(items), modified, "application/json")

    @get("/feed.json", summary="JSON Feed 1.1 of published items",
         opt=documented({"application/feed+json": JSON_FEED}, NOT_MODIFIED))
    async def json_feed(self, request: Request[Any, Any, Any], service: Publishing,
                        group_id: uuid.UUID) -> Response[bytes]:
        items, modified = await _published(service, group_id)
        base = str(request.base_url).rstrip("/")
        feed = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Resources and reflections",
            "home_page_url": f"{base}/public/groups/{group_id}/items",
            "feed_url": f"{base}/public/groups/{group_id}/feed.json",
            "items": [{
                "id": str(i.item_id), "url": f"{base}/public/groups/{group_id}/items#{i.item_id}", "title": i.title,
                "content_text": i.body, "date_published": i.published_at.isoformat() if i.published_at else None,
                "tags": i.tags, "authors": [{"name": f"{c.name} ({c.organisation})"} for c in i.authors],
                "attachments": [{"url": a, "mime_type": "application/octet-stream"} for a in i.attachments],
            } for i in items],
        }
        return _cached(request, msgspec.json.encode(feed), modified, "application/feed+json")

    @get("/feed.atom", summary="Atom feed of published items", opt=documented(
        {"application/atom+xml": {"type": "string", "description": "an Atom 1.0 feed (RFC 4287)"}}, NOT_MODIFIED))
    async def atom_feed(self, request: Request[Any, Any, Any], service: Publishing,
                        group_id: uuid.UUID) -> Response[bytes]:
        items, modified = await _published(service, group_id)
        base = str(request.base_url).rstrip("/")
        xml = atom(items, group_id, base, modified)
        return _cached(request, xml, modified, "application/atom+xml")
