"""A ballot from a form, for every kind of proposal, and a ranking moved one place at a time by buttons.

Ranking works without dragging and without JavaScript: each option has
"move up" and "move down" buttons that send the whole form back; the page
comes back in the new order with the moved option's button focused. htmx
does the same in place when it is there.
"""

from __future__ import annotations

from typing import Any

from litestar.datastructures import FormMultiDict

from web.render import _

STANCES = ("agree", "abstain", "disagree", "block")
AVAILABILITY = ("yes", "if_need_be", "no")


def option_ids(proposal: dict[str, Any]) -> list[str]:
    return [str(o["id"]) for o in proposal["options"]]


def current_order(proposal: dict[str, Any], form: FormMultiDict | None = None) -> list[str]:
    """The order on the form, else the member's ballot, else the proposal's; always every option once."""
    known = option_ids(proposal)
    given: list[str] = []
    if form is not None:
        given = [str(v) for v in form.getall("order", [])]
    elif proposal.get("my_ballot") and proposal["my_ballot"].get("ranking"):
        given = list(proposal["my_ballot"]["ranking"])
    order = [o for o in dict.fromkeys(given) if o in known]
    return order + [o for o in known if o not in order]


def move(order: list[str], instruction: str) -> tuple[list[str], str, str]:
    """Apply "up:<id>" or "down:<id>": the new order, the option moved and the button to focus after."""
    direction, _sep, option = instruction.partition(":")
    if option not in order or direction not in ("up", "down"):
        return order, "", ""
    at = order.index(option)
    to = at - 1 if direction == "up" else at + 1
    if 0 <= to < len(order):
        order = order.copy()
        order[at], order[to] = order[to], order[at]
    focus = direction if (to > 0 if direction == "up" else to < len(order) - 1) else ("down" if direction == "up" else "up")
    return order, option, f"{focus}-{option}"


def _whole(text: str, field: str) -> int:
    try:
        return int(text or "0")
    except ValueError:
        raise BallotError(field, _("Give a whole number.")) from None


class BallotError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def choice_from_form(proposal: dict[str, Any], form: FormMultiDict) -> dict[str, Any]:
    """The ``choice`` of a ballot from the vote form (BallotError for what the member must fix first)."""
    kind = proposal["kind"]
    known = option_ids(proposal)
    if kind == "consent":
        stance = str(form.get("stance", ""))
        if stance not in STANCES:
            raise BallotError("stance", _("Choose agree, abstain, disagree or block."))
        return {"stance": stance}
    if kind == "choice":
        option = str(form.get("option", ""))
        if option not in known:
            raise BallotError("option", _("Choose one option."))
        return {"option": option}
    if kind == "multiple":
        chosen = [str(o) for o in form.getall("options", []) if str(o) in known]
        if not chosen:
            raise BallotError("options", _("Choose at least one option."))
        return {"options": chosen}
    if kind == "ranked":
        return {"ranking": current_order(proposal, form)}
    if kind in ("score", "dot"):
        scores = {o: _whole(str(form.get(f"score-{o}", "0")), f"score-{o}") for o in known}
        return {"scores": {o: s for o, s in scores.items() if s}}
    if kind == "time":
        availability = {o: str(form.get(f"slot-{o}", "no")) for o in known}
        return {"availability": {o: a for o, a in availability.items() if a in AVAILABILITY}}
    raise BallotError("form", _("This kind of proposal cannot be voted on here."))
