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
from tests.browser.pages import DESKTOP, check, tab_and_press, tab_and_type, tab_to
from web.catalogue import plain

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
    link = ada.locator("#sign-in-link").inner_text().strip()
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
        explained = outcome.locator("p.lead").inner_text()  # partners by name, never by id
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", explained), explained
        assert all(organisation in explained for organisation in ORGANISATIONS), explained
        per_organisation = page.get_by_role("region", name="Per partner organisation")
        for organisation in ORGANISATIONS:
            assert per_organisation.get_by_role("table", name=organisation).count() == 1
    check(ada, "proposal-outcome", screenshots)
    ada.goto(system.web + "/proposals")
    check(ada, "proposals", screenshots)


def test_several_options_may_be_chosen_as_many_as_the_proposal_says(people: People, system: System) -> None:
    """The form never sent how many could be chosen, so a 'choose several' proposal took one (the newcomer's find)."""
    ada, kofi = people["Ada Brennan"], people["Kofi Mensah"]
    ada.goto(system.web + "/proposals/new")
    ada.get_by_label("Title").fill("Which workshops to run")
    ada.get_by_label(plain("multiple")).check()
    ada.get_by_label("Options, one on each line").fill("Storytelling\nPeer support\nBudgets")
    ada.get_by_label("How many options may each person choose?").fill("2")
    ada.get_by_role("button", name="Open the proposal").click()
    ada.get_by_text("Your proposal is open for votes.").wait_for()
    kofi.goto(ada.url)
    kofi.get_by_label("Storytelling").check()
    kofi.get_by_label("Peer support").check()
    kofi.get_by_role("button", name="Cast my vote").click()
    kofi.get_by_text("Your vote is recorded.").wait_for()


def test_meetings_in_local_time_with_answers_and_a_calendar(people: People, system: System, screenshots: Path) -> None:
    ada, kofi = people["Ada Brennan"], people["Kofi Mensah"]
    ada.goto(system.web + "/meetings")
    ada.get_by_label("Name of the meeting").fill("Working group")
    ada.get_by_label("Where (optional)").fill("Community centre (step-free)")
    ada.get_by_label("How many weeks in a row").fill("26")
    ada.get_by_role("button", name="Schedule").click()
    ada.get_by_text("The meeting is scheduled.").wait_for()
    kofi.goto(system.web + "/meetings")
    kofi.get_by_label("Can you come?").first.select_option("yes")
    kofi.get_by_label("Access needs (optional)").first.fill("a quiet room")
    kofi.get_by_role("button", name="Save my answer").first.click()
    kofi.get_by_text("Your answer: Yes").first.wait_for()
    assert kofi.get_by_label("Access needs (optional)").first.input_value() == "a quiet room"  # kept, not erased
    ada.goto(system.web + "/meetings")  # the organiser sees what Kofi needs to take part
    assert "Kofi Mensah: a quiet room" in ada.locator("main").inner_text()
    kofi.get_by_role("button", name="Get my calendar address").click()
    assert "/calendar/" in kofi.locator(".secret").inner_text()
    check(kofi, "meetings", screenshots)
    kofi.goto(system.web + "/")
    assert "10:30" in kofi.get_by_role("region", name="Next meetings").inner_text()


def test_a_member_signs_up_within_their_capacity_and_finds_their_table(people: People, system: System,
                                                                        screenshots: Path) -> None:
    ada, kofi = people["Ada Brennan"], people["Kofi Mensah"]
    ada.goto(system.web + "/gatherings")
    check(ada, "gatherings", screenshots)
    ada.get_by_label("Name", exact=True).fill("Co-Producing Co-Production")
    ada.get_by_label("Venue", exact=True).fill("Community hall")
    ada.get_by_role("button", name="Plan the gathering").click()
    ada.get_by_text("The gathering is planned.").wait_for()
    gathering = ada.url
    for role in ("Host a table", "Welcome desk"):
        ada.get_by_label("Role", exact=True).fill(role)
        ada.get_by_label("Places").fill("2")
        ada.get_by_role("button", name="Add the role").click()
        ada.get_by_text("The role is added.").wait_for()
    kofi.goto(gathering)
    kofi.get_by_label("How many roles can you take on, at most?").select_option("1")
    kofi.get_by_role("button", name="Save", exact=True).click()
    kofi.get_by_text("copro will not give you more roles").wait_for()
    kofi.get_by_role("button", name="Sign up for Host a table").click()
    kofi.get_by_text("You have this role").wait_for()
    kofi.get_by_role("button", name="Sign up for Welcome desk").click()  # beyond what he said he can take
    kofi.get_by_role("alert").wait_for()
    check(kofi, "gathering-beyond-capacity", screenshots)
    kofi.get_by_label("You come mostly as someone with").select_option("lived_experience")
    kofi.get_by_role("button", name="Register me").click()
    kofi.get_by_text("You are registered to attend.").wait_for()
    for name in ("Nadia Hart", "Mei Lin Okoro"):
        page = people[name]
        page.goto(gathering)
        page.get_by_label("You come mostly as someone with").select_option("service_provider")
        page.get_by_role("button", name="Register me").click()
        page.get_by_text("You are registered to attend.").wait_for()
    ada.goto(gathering)
    ada.get_by_label("Number of tables").fill("2")
    ada.get_by_label("Seats at each table").fill("4")
    ada.get_by_role("button", name="Set the tables").click()
    ada.get_by_text("The tables are set.").wait_for()
    ada.get_by_role("button", name="Make the table plan").click()
    ada.get_by_text("The table plan is made.").wait_for()
    check(ada, "gathering-facilitator", screenshots)
    kofi.goto(gathering)
    assert re.search(r"You are at Table \d", kofi.get_by_role("region", name="Your table").inner_text())
    check(kofi, "gathering", screenshots)
    kofi.goto(system.web + "/")
    assert "Host a table" in kofi.get_by_role("region", name="Your roles and sign-ups").inner_text()
    kofi.goto(gathering + "/table-plan")
    assert kofi.get_by_role("row", name=re.compile("Kofi Mensah")).count() == 1
    check(kofi, "table-plan", screenshots)


def test_a_reflection_is_drafted_approved_and_published(people: People, system: System, group: dict[str, Any],
                                                        screenshots: Path) -> None:
    nadia, ada = people["Nadia Hart"], people["Ada Brennan"]
    nadia.goto(system.web + "/publications")
    nadia.get_by_label("Title").fill("What planning the event taught us")
    nadia.get_by_label("Text").fill("We trusted each other to do everything, and to do it well.")
    nadia.get_by_role("button", name="Save the draft").click()
    nadia.get_by_text("Your draft is saved.").wait_for()
    nadia.get_by_label("Add a co-author").select_option(label="Kofi Mensah (Changing Futures)")
    nadia.get_by_role("button", name="Add co-author").click()
    nadia.get_by_text("is now a co-author").wait_for()
    check(nadia, "publication-draft", screenshots)
    nadia.get_by_role("button", name="Ask the group to publish it").click()
    item = nadia.url
    vote = nadia.get_by_role("link", name="See the proposal and vote")
    for _ in range(600):  # decisions opens the proposal when the request reaches it over NATS (a minute at most)
        if vote.count():
            break
        nadia.wait_for_timeout(100)
        nadia.reload()
    vote.click()
    proposal = nadia.url
    for name in PEOPLE:
        page = people[name]
        page.goto(proposal)
        page.get_by_label("Agree", exact=True).check()
        page.get_by_role("button", name="Cast my vote").click()
        page.get_by_text("Your vote is recorded.").wait_for()
    ada.goto(proposal)
    ada.get_by_role("button", name="Close now and count the votes").click()
    ada.get_by_text("The proposal is closed").wait_for()
    public = system.web + f"/public/{group['group_id']}"
    anyone = people.browser.new_page()
    for _ in range(600):  # publishing publishes when the outcome reaches it over NATS (a minute at most)
        anyone.goto(public)
        if anyone.get_by_role("heading", name="What planning the event taught us").count():
            break
        anyone.wait_for_timeout(100)
    assert "Nadia Hart, Kofi Mensah" in anyone.locator("article").inner_text()
    check(anyone, "public", screenshots)
    nadia.goto(item)
    nadia.get_by_text("It is published").wait_for()
    check(nadia, "publication-published", screenshots)
    nadia.goto(system.web + "/publications")
    check(nadia, "publications", screenshots)


def test_facilitators_pages(people: People, system: System, screenshots: Path) -> None:
    ada = people["Ada Brennan"]
    ada.goto(system.web + "/rules")
    check(ada, "rules", screenshots)
    ada.get_by_label("Votes needed from each partner organisation").fill("1")
    ada.get_by_role("button", name="Save the rule").click()
    ada.get_by_text("The group's rule is saved.").wait_for()
    ada.goto(system.web + "/members")
    ada.get_by_label("Name", exact=True).fill("Jonah Reeves")
    ada.get_by_label("Organisation").select_option(label="Possability People")
    ada.get_by_role("button", name="Add the member").click()
    ada.get_by_text("Jonah Reeves is added.").wait_for()
    check(ada, "members", screenshots)
    kofi = people["Kofi Mensah"]
    kofi.goto(system.web + "/members")
    assert kofi.get_by_role("heading", name="This did not work").count() == 1


def _ranking(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("ol.ranking .label").all_inner_texts()]


def test_the_same_flows_by_keyboard_alone_and_ranking_without_javascript(people: People, system: System,
                                                                         screenshots: Path) -> None:
    ada, kofi, nadia = people["Ada Brennan"], people["Kofi Mensah"], people["Nadia Hart"]
    ada.goto(system.web + "/proposals/new")
    tab_and_type(ada, ada.get_by_label("Title"), "Name for the event")
    tab_to(ada, ada.get_by_label(plain("consent")))
    for _ in range(3):  # consent, choice, multiple, ranked: arrows move through the radio group
        ada.keyboard.press("ArrowDown")
    assert ada.get_by_label(plain("ranked")).is_checked()
    tab_and_type(ada, ada.get_by_label("Options, one on each line"), "Equal Voices\nNothing About Us\nCo-Producing Co-Production")
    tab_and_press(ada, ada.get_by_role("button", name="Open the proposal"))
    ada.get_by_text("Your proposal is open for votes.").wait_for()
    proposal = ada.url

    kofi.goto(system.web + "/")
    tab_and_press(kofi, kofi.get_by_role("link", name="Name for the event"))
    kofi.wait_for_url(proposal)
    tab_and_press(kofi, kofi.get_by_role("button", name="Move down: Equal Voices"))
    kofi.get_by_text("Equal Voices is now number 2 of 3.").wait_for()  # htmx swapped the list in place
    assert kofi.evaluate("document.activeElement.id").startswith("down-")  # focus stayed on the moved option
    kofi.keyboard.press("Enter")  # and again: Equal Voices goes last
    kofi.get_by_text("Equal Voices is now number 3 of 3.").wait_for()
    assert _ranking(kofi) == ["Nothing About Us", "Co-Producing Co-Production", "Equal Voices"]
    check(kofi, "proposal-ranked", screenshots)
    tab_and_press(kofi, kofi.get_by_role("button", name="Cast my vote"))
    kofi.get_by_text("Your vote is recorded.").wait_for()
    assert _ranking(kofi) == ["Nothing About Us", "Co-Producing Co-Production", "Equal Voices"]

    plain_page = people.browser.new_context(viewport=DESKTOP, java_script_enabled=False).new_page()
    plain_page.context.add_cookies(nadia.context.cookies())
    plain_page.goto(proposal)
    tab_and_press(plain_page, plain_page.get_by_role("button", name="Move up: Co-Producing Co-Production"))
    plain_page.get_by_text("Co-Producing Co-Production is now number 2 of 3.").wait_for()  # a whole new page
    focused = plain_page.evaluate("document.activeElement.id")  # autofocus put the keyboard back on the moved option
    assert focused.startswith("up-") and plain_page.get_by_role("button", name="Move up: Co-Producing Co-Production"
                                                                ).get_attribute("id") == focused
    tab_and_press(plain_page, plain_page.get_by_role("button", name="Cast my vote"))
    plain_page.get_by_text("Your vote is recorded.").wait_for()
    assert _ranking(plain_page) == ["Equal Voices", "Co-Producing Co-Production", "Nothing About Us"]

    nadia.goto(system.web + "/gatherings")
    tab_and_press(nadia, nadia.get_by_role("button", name="Sign up for Welcome desk"))
    nadia.get_by_text("You have this role").wait_for()
    ada.goto(proposal)
    tab_and_press(ada, ada.get_by_role("button", name="Close now and count the votes"))
    ada.get_by_text("The proposal is closed").wait_for()
    tab_and_press(nadia, nadia.get_by_role("link", name=re.compile("^You: ")))
    tab_and_press(nadia, nadia.get_by_role("button", name="Sign out", exact=True))
    nadia.get_by_text("You are signed out on this device.").wait_for()
