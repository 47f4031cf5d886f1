"""What every page must pass, and how a person moves through it: axe-core at desktop width and at 320 px
(zero violations of WCAG 2.x A/AA rules), no sideways scrolling at 320 px or with text at 200%, a
screenshot at both widths; and keyboard helpers that reach a control with Tab alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
DESKTOP = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 720}
_axe = Axe()
SEEN: set[str] = set()


def _violations(page: Any) -> list[str]:
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": TAGS}})
    return [f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in results.response["violations"]]


def _overflow(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def _wide(page: Any) -> list[str]:
    """The elements that stick out to the right, to say what makes a page scroll sideways."""
    return list(page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                     && !e.parentElement.closest('.scroll'))
        .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').trim().slice(0, 40))"""))


def check(page: Any, name: str, shots: Path) -> None:
    """axe-core at both widths, reflow at 320 px and at 200% text, screenshots at both widths (once per name)."""
    page.wait_for_load_state("load")
    found = _violations(page)
    assert not found, f"{name} (desktop): {found}"
    first = name not in SEEN
    SEEN.add(name)
    if first:
        page.screenshot(path=str(shots / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(NARROW)
    try:
        found = _violations(page)
        assert not found, f"{name} (320 px): {found}"
        assert _overflow(page) <= 0, f"{name} scrolls sideways at 320 px: {_wide(page)}"
        if first:
            page.screenshot(path=str(shots / f"{name}-320px.png"), full_page=True)
    finally:
        page.set_viewport_size(DESKTOP)
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    try:
        assert _overflow(page) <= 0, f"{name} scrolls sideways with text at 200%: {_wide(page)}"
    finally:
        page.evaluate("document.documentElement.style.fontSize = ''")


def tab_to(page: Any, locator: Any, limit: int = 150) -> None:
    """Press Tab until ``locator`` has focus (AssertionError if it never does): reachable by keyboard alone."""
    handle = locator.element_handle()
    for _ in range(limit):
        if page.evaluate("(el) => document.activeElement === el", handle):
            outline = page.evaluate("(el) => getComputedStyle(el).outlineStyle", handle)
            assert outline != "none", "focus is not visible"
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {locator}")


def tab_and_type(page: Any, locator: Any, text: str) -> None:
    tab_to(page, locator)
    page.keyboard.type(text)


def tab_and_press(page: Any, locator: Any, key: str = "Enter") -> None:
    tab_to(page, locator)
    page.keyboard.press(key)
