"""An example value for any JSON Schema of the OpenAPI documents: one per request and response.

Examples are made from the schema itself, so they cannot drift from the
types (a test validates every one against its schema); a field's name picks
a readable value from the seed's story where one fits (a title, a venue, a
reason), and constraints (lengths, bounds, sizes) are kept.
"""

from __future__ import annotations

from typing import Any

EXAMPLE_ID = "0190f5a2-7c3e-7a51-9f0e-2b1c3d4e5f60"
EXAMPLE_TIME = "2026-03-05T10:30:00+00:00"

_TEXT = {
    "name": "Ada Lovelace", "title": "Hold the event in March", "text": "Could we add a quiet room?",
    "reason": "It clashes with the school holidays", "venue": "Community hall", "label": "Community hall",
    "consent": "asked in person at the weekly meeting", "body": "What we learned from planning together.",
    "summary": "What we learned", "organisation": "SCALE Network", "perspective": "lived experience",
    "description": "The working group's planning event", "rrule": "FREQ=WEEKLY;COUNT=26", "kind": "consent",
    "url": "https://partner.example.org/copro/webhook",
    "public_key": "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=",
    "signature": "c2lnbmF0dXJlIG9mIHRoZSBjaGVja3BvaW50IGJ5IHRoZSBwYXJ0bmVy", "token": "copro_4Jc0sW9hQ2xm7Rk",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "status": "open", "type": "decisions.BallotCast",
    "role_id": "greeter", "id": "hall", "option": "hall", "stance": "agree", "explanation": "Passed: 3 of 3 agree.",
}
_NUMBER = {"position": 1042, "limit": 50, "after": 1000, "capacity": 120, "places": 4, "max_roles": 2, "seats": 8}
_MAX_DEPTH = 8


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 32:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        schema, seen = target, seen + 1
    return schema


def _sized(text: str, schema: dict[str, Any]) -> str:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if len(text) < low:
        text += "x" * (low - len(text))
    return text[:high] if high is not None else text


def _bounded(value: int | float, schema: dict[str, Any]) -> int | float:
    if "minimum" in schema:
        value = max(value, schema["minimum"])
    if "exclusiveMinimum" in schema:
        value = max(value, schema["exclusiveMinimum"] + 1)
    if "maximum" in schema:
        value = min(value, schema["maximum"])
    if "exclusiveMaximum" in schema:
        value = min(value, schema["exclusiveMaximum"] - 1)
    return value


def _string(schema: dict[str, Any], name: str | None) -> str:
    fmt = schema.get("format")
    if fmt == "uuid":
        return EXAMPLE_ID
    if fmt == "date-time" or name == "at" or (name or "").endswith("_at"):
        return EXAMPLE_TIME
    if fmt == "date":
        return EXAMPLE_TIME[:10]
    if fmt in ("uri", "url", "iri"):
        return "https://partner.example.org/copro"
    if fmt == "email":
        return "ada@partner.example.org"
    if "pattern" in schema:
        return _sized("example", schema)
    return _sized(_TEXT.get(name or "", "example"), schema)


def _choice(options: list[dict[str, Any]], root: dict[str, Any]) -> dict[str, Any]:
    """The first option that is not ``null``: an example shows the value, not its absence."""
    for option in options:
        if _resolve(option, root).get("type") != "null":
            return option
    return options[0]


def example(schema: dict[str, Any], root: dict[str, Any], name: str | None = None, depth: int = 0) -> Any:
    """An example that ``schema`` accepts; ``root`` is the document its ``$ref`` point into."""
    schema = _resolve(schema, root)
    for key in ("examples",):
        if isinstance(schema.get(key), list) and schema[key]:
            return schema[key][0]
    if "example" in schema:
        return schema["example"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return example(_choice(schema[key], root), root, name, depth)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part, root))
        return example(merged, root, name, depth)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        return _object(schema, root, depth)
    if kind == "array":
        return _array(schema, root, name, depth)
    if kind == "string":
        return _string(schema, name)
    if kind == "integer":
        return int(_bounded(_NUMBER.get(name or "", 1), schema))
    if kind == "number":
        return _bounded(float(_NUMBER.get(name or "", 1)), schema)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return {}


def _object(schema: dict[str, Any], root: dict[str, Any], depth: int) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    out: dict[str, Any] = {}
    for key, sub in properties.items():
        if key in required or depth < _MAX_DEPTH:
            out[key] = example(sub, root, key, depth + 1)
    extra = schema.get("additionalProperties")
    if not properties and isinstance(extra, dict) and extra and depth < _MAX_DEPTH:
        names = _resolve(schema.get("propertyNames", {}), root)
        out[_sized("hall", names)] = example(extra, root, None, depth + 1)
    return out


def _array(schema: dict[str, Any], root: dict[str, Any], name: str | None, depth: int) -> list[Any]:
    if "prefixItems" in schema:
        return [example(item, root, None, depth + 1) for item in schema["prefixItems"]]
    if schema.get("maxItems") == 0 or (depth >= _MAX_DEPTH and not schema.get("minItems")):
        return []
    items = schema.get("items", {})
    singular = name[:-1] if name and name.endswith("s") else name
    count = max(1, schema.get("minItems", 0))
    first = example(items, root, singular, depth + 1)
    if count == 1 or not schema.get("uniqueItems"):
        return [first] * count
    return [first, *(example(items, root, f"{singular}{i}", depth + 1) for i in range(1, count))]
