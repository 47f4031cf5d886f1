"""What members type into a form, read strictly: a number is ASCII digits within bounds, or it is refused.

``str.isdigit()`` also takes superscripts and other scripts' digits (``²``) that ``int()`` then refuses, and
a number with no upper bound lets one request make the app build a million tables before the API says no.
"""

from __future__ import annotations


def whole_number(text: str, low: int, high: int) -> int | None:
    """The whole number ``text`` says, when it is one from ``low`` to ``high``; None otherwise."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(high)):
        return None
    value = int(text)
    return value if low <= value <= high else None
