"""The words of the web app, ready for translation: gettext's model with plain dictionaries.

Templates and code write English source text through ``_()`` (with ``{name}``
placeholders); each language is a dictionary from that text to its
translation, and text with no translation shows in English. English ships;
a translation is one more dictionary in ``CATALOGUES`` (a test checks that
every entry of every catalogue keeps its placeholders).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Words the API uses for kinds, results and answers, in plain language.
PLAIN: dict[str, str] = {
    "consent": "Consent: agree unless you have a reason not to",
    "choice": "Choose one option",
    "multiple": "Choose several options",
    "ranked": "Rank the options in order of preference",
    "score": "Give each option a score",
    "dot": "Spread your dots across the options",
    "time": "Say when you are free",
    "agree": "Agree",
    "abstain": "Abstain (stand aside)",
    "disagree": "Disagree",
    "block": "Block (a serious objection that stops the proposal)",
    "passed": "Agreed",
    "rejected": "Not agreed",
    "blocked": "Blocked",
    "no_quorum": "Not decided: not every partner organisation took part",
    "tie": "A tie",
    "chosen": "Chosen",
    "open": "Open for votes",
    "closed": "Closed",
    "withdrawn": "Withdrawn",
    "scheduled": "Not open yet",
    "yes": "Yes",
    "no": "No",
    "maybe": "Maybe",
    "if_need_be": "If need be",
    "draft": "Draft",
    "requested": "Waiting for the group's consent",
    "published": "Published",
    "refused": "Not agreed for publication",
    "reflection": "Reflection",
    "resource": "Resource",
    "per_member": "One member, one vote",
    "organisation_parity": "Each partner organisation carries the same weight",
    "full_name": "My full name",
    "first_name": "My first name only",
    "anonymous": "Anonymous (a member of my organisation)",
    "facilitator": "Facilitator",
    "member": "Member",
    "observer": "Observer",
    "auditor": "Auditor",
    "lived_experience": "Lived experience",
    "service_provider": "Service provider",
    "both": "Both",
    "other": "Other",
}

CATALOGUES: dict[str, dict[str, str]] = {
    "en": {},  # the source text is English
}


def translator(language: str = "en") -> Callable[..., str]:
    """``_("Hello {name}", name=...)`` in ``language``, falling back to English."""
    catalogue = CATALOGUES.get(language, {})

    def translate(text: str, **values: Any) -> str:
        words = catalogue.get(text, text)
        return words.format(**values) if values else words

    return translate


def plain(word: object, language: str = "en") -> str:
    """An API word (a kind, a result, an answer) in plain language."""
    text = PLAIN.get(str(word), str(word).replace("_", " "))
    return translator(language)(text)
