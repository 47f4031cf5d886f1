"""The generated calls and event types are what clients/python/generate.py makes from copro's documents now."""

from __future__ import annotations

import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def test_the_generated_client_is_current() -> None:
    spec = importlib.util.spec_from_file_location("copro_client_generate", HERE / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    stale = [name for name, text in generate.render().items() if (HERE / name).read_text() != text]
    assert not stale, f"run .venv/bin/python clients/python/generate.py: {stale} are not current"


def test_every_generated_module_stays_under_four_hundred_lines() -> None:
    for path in (HERE / "copro_client").rglob("*.py"):
        assert path.read_text().count("\n") < 400, path


def test_every_event_copro_ever_stored_decodes() -> None:
    """A partner replaying the log meets payloads of every earlier version (tests/fixtures/events, byte for byte
    as copro stored them): the client decodes each as its event type, never failing on an older shape."""
    import json

    from copro_client.events import VERSIONS, decode_event

    stored = sorted((HERE.parent.parent / "tests" / "fixtures" / "events").glob("*.json"))
    assert len(stored) >= 7
    for path in stored:
        data = path.read_bytes().strip()
        kind = json.loads(data)["type"]
        assert kind in VERSIONS, path.name
        assert type(decode_event(kind, data)).__name__ == kind.split(".")[1], path.name
