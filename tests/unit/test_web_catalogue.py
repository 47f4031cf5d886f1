"""The web app's words: every template and page speaks through the catalogue, and translations keep placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

from web.ballots import move
from web.catalogue import CATALOGUES, PLAIN, plain, translator

WEB = Path(__file__).resolve().parents[2] / "web"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_translation_keeps_the_placeholders_of_its_source() -> None:
    for language, catalogue in CATALOGUES.items():
        for source, words in catalogue.items():
            assert _fields(source) == _fields(words), f"{language}: {source!r}"


def test_templates_write_no_bare_english_between_tags() -> None:
    """Text between tags goes through _() or plain(); what is left is markup, expressions and punctuation."""
    for template in (WEB / "templates").glob("*.html"):
        text = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", "", template.read_text(), flags=re.S)
        for piece in re.findall(r">([^<>]+)<", text):
            assert not re.search(r"[A-Za-z]{3,}", piece), f"{template.name}: {piece.strip()!r}"


def test_english_is_shipped_and_placeholders_are_filled() -> None:
    _ = translator("en")
    assert _("Hello, {name}", name="Ada") == "Hello, Ada"
    assert translator("xx")("Sign in") == "Sign in"  # an unknown language falls back to English
    assert plain("organisation_parity") == PLAIN["organisation_parity"]


def test_a_ranking_moves_one_place_and_keeps_the_keyboard_on_the_moved_option() -> None:
    assert move(["a", "b", "c"], "down:a") == (["b", "a", "c"], "a", "down-a")
    assert move(["a", "b", "c"], "down:b") == (["a", "c", "b"], "b", "up-b")  # last: no "down" any more
    assert move(["a", "b", "c"], "up:b") == (["b", "a", "c"], "b", "down-b")  # first: no "up" any more
    assert move(["a", "b"], "sideways:a") == (["a", "b"], "", "")
