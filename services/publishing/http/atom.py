"""The Atom feed (RFC 4287), written by an XML serializer so no title, tag or body can break it.

Text goes through ElementTree, which escapes markup; characters XML 1.0 cannot
carry at all (most control characters) are dropped first, since no escaping
can make them valid.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from services.publishing.http.schemas import ItemOut

ATOM = "http://www.w3.org/2005/Atom"
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _text(v) for k, v in attributes.items()})
    if text is not None:
        element.text = _text(text)
    return element


def atom(items: list[ItemOut], group_id: uuid.UUID, base: str, modified: datetime | None) -> bytes:
    updated = (modified or datetime(2000, 1, 1, tzinfo=UTC)).isoformat()
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", f"urn:uuid:{group_id}")
    _add(feed, "title", "Resources and reflections")
    _add(feed, "updated", updated)
    _add(feed, "link", rel="self", href=f"{base}/public/groups/{group_id}/feed.atom")
    for item in items:
        entry = _add(feed, "entry")
        _add(entry, "id", f"urn:uuid:{item.item_id}")
        _add(entry, "title", item.title)
        _add(entry, "updated", item.published_at.isoformat() if item.published_at else updated)
        for author in item.authors:
            _add(_add(entry, "author"), "name", f"{author.name} ({author.organisation})")
        for tag in item.tags:
            _add(entry, "category", term=tag)
        _add(entry, "link", href=f"{base}/public/groups/{group_id}/items#{item.item_id}")
        _add(entry, "content", item.body, type="text")
    ET.register_namespace("", ATOM)
    written: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return written
