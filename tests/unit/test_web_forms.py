"""What members type into the web app's forms is read strictly, and a bug answers a plain page, logged.

Each case here answered 500 before, unlogged: superscript digits that ``isdigit()`` takes and ``int()``
refuses, a day at the calendar's edge that overflowed an hour later, and a table count with no bound that
built a million tables before the API said no (the attacker's finds).
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

import pytest
from litestar import get
from litestar.testing import TestClient

from web.app import create_app
from web.forms import whole_number
from web.render import local_moment


def test_a_whole_number_is_ascii_digits_within_its_bounds() -> None:
    assert [whole_number(text, 1, 104) for text in ("1", " 104 ", "052")] == [1, 104, 52]
    for text in ("²", "³", "١٢", "0", "105", "-1", "+3", "1.5", "1_000", "", "x/y", "9" * 5000):
        assert whole_number(text, 1, 104) is None, text


def test_a_day_at_the_calendars_edge_is_not_a_day_the_form_takes() -> None:
    london = ZoneInfo("Europe/London")
    assert local_moment("2030-03-01", "10:30", london).hour == 10
    for day in ("9999-12-31", "0001-01-01", "1899-12-31", "3000-01-01"):
        with pytest.raises(ValueError):
            local_moment(day, "23:30", london)
    with pytest.raises(ValueError, match="clocks go forward"):  # 01:30 on the day British Summer Time starts
        local_moment("2027-03-28", "01:30", london)


def test_a_bug_answers_a_plain_page_and_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    @get("/boom", sync_to_thread=False)
    def boom() -> str:
        return str(int("²"))

    app = create_app()
    app.register(boom)
    with caplog.at_level(logging.ERROR, logger="web.app"), TestClient(app) as client:
        answer = client.get("/boom")
    assert answer.status_code == 500 and answer.headers["content-type"].startswith("text/html")
    assert "Something went wrong on our side" in answer.text and "Traceback" not in answer.text
    [record] = [r for r in caplog.records if r.name == "web.app"]
    assert "GET /boom" in record.getMessage() and record.exc_info is not None


def test_a_time_proposals_slots_are_the_times_written_not_the_closing_time() -> None:
    """Every slot was the closing time, so the meeting the group chose was scheduled then (the newcomer's find)."""
    from datetime import datetime

    from web.pages.proposals import _slots

    london = ZoneInfo("Europe/London")
    slots = _slots(["2030-03-12 10:30-12:00", "2030-03-14 9:00 to 10:15"], london)
    assert slots is not None
    assert [(datetime.fromisoformat(s["starts_at"]), datetime.fromisoformat(s["ends_at"])) for s in slots] == [
        (datetime(2030, 3, 12, 10, 30, tzinfo=london), datetime(2030, 3, 12, 12, 0, tzinfo=london)),
        (datetime(2030, 3, 14, 9, 0, tzinfo=london), datetime(2030, 3, 14, 10, 15, tzinfo=london))]
    assert slots[0]["label"] == "2030-03-12 10:30-12:00"
    for unreadable in (["Tuesday 10:30"], ["2030-03-12 12:00-10:30"], ["2030-02-30 10:00-11:00"], ["9999-12-31 23:00-23:30"]):
        assert _slots(unreadable, london) is None, unreadable


def test_a_stale_form_or_a_forms_address_opened_as_a_page_answers_a_page_that_says_what_to_do() -> None:
    """Both answered a line of JSON (the newcomer's find)."""
    with TestClient(create_app()) as client:
        opened = client.get("/meetings/calendar")
        assert opened.status_code == 405 and opened.headers["content-type"].startswith("text/html")
        assert "only receives forms" in opened.text
        stale = client.post("/meetings/calendar", data={"x": "1"})  # no anti-forgery token
        assert stale.status_code == 403 and stale.headers["content-type"].startswith("text/html")
        assert "reload the page" in stale.text


def test_the_apis_refusals_reach_members_in_plain_words() -> None:
    """Members read "Expected `str` of length <= 200 - at `$.title`" (the newcomer's find)."""
    from web.api import plain_words

    assert plain_words("Expected `str` of length <= 200 - at `$.title`") == "Please keep this to 200 characters or fewer."
    assert plain_words("Expected `int` >= 0 - at `$.choice.scores[...]`") == "Please give a whole number of at least 0."
    assert "type it again" in plain_words("`title` holds a control character (U+000B)")
    assert plain_words("closes_at must be after opens_at") == "closes_at must be after opens_at"
    assert plain_words("pick one option - at `$.choice`") == "pick one option"


def test_pages_show_times_in_the_groups_own_zone() -> None:
    """The web app used the installation's zone for every group, so a group in Paris saw its 11:30 meeting at
    10:30 (the newcomer's find)."""
    import uuid

    from shared.runtime.settings import load_settings
    from web.app import environment
    from web.session import Me

    paris = Me(token="t", group_id=uuid.uuid4(), member_id=uuid.uuid4(), name="A", roles=("member",),
               organisation_id=uuid.uuid4(), group_name="G", time_zone="Europe/Paris")
    shown = environment(load_settings()).from_string("{{ when(t) }}")
    assert shown.render(me=paris, t="2026-12-10T10:30:00+00:00").endswith("11:30")
    assert shown.render(me=None, t="2026-12-10T10:30:00+00:00").endswith("10:30")  # no group: the installation's (London)
