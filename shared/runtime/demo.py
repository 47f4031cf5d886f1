"""``copro demo``: a working group's first months, through the public HTTP API only.

Modelled on the story in the design brief: three partner organisations plan
a 100+ person event together. The people are invented. Run it against a
running ``copro up``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.runtime.settings import Settings

ORGANISATIONS = ["Changing Futures", "Possability People", "SCALE Network"]
TIME_ZONE = "Europe/London"  # the group meets in Brighton
# name, organisation index, lived experience, roles
PEOPLE = [
    ("Ada Brennan", 0, True, ["facilitator"]),
    ("Kofi Mensah", 0, True, ["member"]),
    ("Rhiannon Clay", 0, False, ["member"]),
    ("Tomasz Wilk", 0, True, ["member"]),
    ("Priya Raman", 0, False, ["member"]),
    ("Nadia Hart", 1, True, ["facilitator"]),
    ("Jonah Reeves", 1, False, ["member"]),
    ("Mei Lin Okoro", 2, True, ["member"]),
    ("Sam Ortega", 2, False, ["facilitator", "member"]),
]


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token

    def call(self, method: str, path: str, body: Any = None, token: str | None = None, quiet: bool = False) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if token != "":
            headers["Authorization"] = f"Bearer {token or self.token}"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            if quiet and exc.code == 404:
                raise LookupError(path) from exc
            raise SystemExit(f"copro demo: {method} {path} answered {exc.code}: {exc.read().decode()}") from exc
        return json.loads(raw) if raw else None


def _later(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


class Story:
    """The seed's story in chapters, each a method, told through the three services' public APIs."""

    def __init__(self, settings: Settings) -> None:
        self.base = f"http://{settings.host}:{settings.ports['decisions']}"
        self.api = Api(self.base, settings.operator_token_path.read_text().strip())
        self.publishing = Api(f"http://{settings.host}:{settings.ports['publishing']}", self.api.token)
        self.scheduling = Api(f"http://{settings.host}:{settings.ports['scheduling']}", self.api.token)
        self.gid = ""
        self.tokens: dict[str, str] = {}

    def form_the_group(self) -> None:
        group = self.api.call("POST", "/groups", {
            "name": "Co-Producing Co-Production working group",
            "organisations": [{"name": n} for n in ORGANISATIONS], "time_zone": TIME_ZONE,
        })
        self.gid = gid = group["group_id"]
        orgs = [o["id"] for o in group["organisations"]]
        print(f"Group {group['name']} ({gid}) with partners: {', '.join(ORGANISATIONS)}")
        for name, org, lived, roles in PEOPLE:
            member = self.api.call("POST", f"/groups/{gid}/members", {
                "name": name, "organisation_id": orgs[org], "lived_experience": lived, "roles": roles})
            self.tokens[name] = self.api.call("POST", f"/groups/{gid}/members/{member['member_id']}/tokens")["token"]
        print(f"  {len(PEOPLE)} members: 5 from {ORGANISATIONS[0]}, 2 from each of the others, "
              f"{sum(p[2] for p in PEOPLE)} with lived experience")

    def propose(self, author: str, body: dict[str, Any]) -> str:
        made = self.api.call("POST", f"/groups/{self.gid}/proposals", {"closes_at": _later(7), **body},
                             token=self.tokens[author])
        return str(made["proposal_id"])

    def vote(self, pid: str, name: str, choice: dict[str, Any], reason: str | None = None) -> None:
        self.api.call("POST", f"/groups/{self.gid}/proposals/{pid}/ballots", {"choice": choice, "reason": reason},
                      token=self.tokens[name])

    def close(self, pid: str) -> dict[str, Any]:
        closed = self.api.call("POST", f"/groups/{self.gid}/proposals/{pid}/close", token=self.tokens["Ada Brennan"])
        print(f"\n{closed['title']} [{closed['kind']}, {closed['rule']['counting']}]")
        print(f"  -> {closed['outcome']['result']}: {closed['explanation']}")
        return closed  # type: ignore[no-any-return]

    def decide_together(self) -> None:
        """Six decisions of six kinds: when to meet, whether, where, the theme under parity, a name, the time."""
        propose, vote, close = self.propose, self.vote, self.close
        slots = [{"label": f"{day} 10:30-12:00", "id": day.lower()[:3],
                  "starts_at": _later(10 + n), "ends_at": _later(10 + n)} for n, day in enumerate(["Tuesday", "Thursday"])]
        for slot in slots:
            slot["ends_at"] = (datetime.fromisoformat(slot["starts_at"]) + timedelta(minutes=90)).isoformat()
        meeting = propose("Ada Brennan", {"kind": "time", "title": "When should the weekly working group meet?",
                                          "options": slots})
        for n, (name, *_rest) in enumerate(PEOPLE):
            vote(meeting, name, {"availability": {"tue": "yes" if n % 3 else "no", "thu": "if_need_be" if n % 2 else "yes"}})
        close(meeting)

        event = propose("Nadia Hart", {"kind": "consent", "title": "Co-produce a 100+ person event in March",
                                        "body": "Planned over six months by this group, led by people with lived experience."})
        for name, *_rest in PEOPLE:
            vote(event, name, {"stance": "agree"})
        close(event)

        venue = propose("Kofi Mensah", {"kind": "consent", "title": "Book the upstairs hall (no lift) to save money"})
        vote(venue, "Priya Raman", {"stance": "agree"})
        vote(venue, "Rhiannon Clay", {"stance": "agree"})
        vote(venue, "Mei Lin Okoro", {"stance": "block"}, "Without step-free access some of us cannot come at all.")
        close(venue)

        parity = {"counting": "organisation_parity"}
        theme = propose("Sam Ortega", {"kind": "choice", "title": "Theme of the day", "rule": parity, "options": [
            {"label": "Co-production in the real world", "id": "real-world"},
            {"label": "Lived experience leading change", "id": "leading-change"}]})
        for name, org, *_rest in PEOPLE:
            vote(theme, name, {"option": "real-world" if org == 0 else "leading-change"})
        closed = close(theme)
        print(f"  (one member one vote would have chosen real-world, 5 votes to 4; under parity each partner "
              f"weighs the same, so {closed['outcome']['chosen'][0]} won)")

        name_vote = propose("Tomasz Wilk", {"kind": "ranked", "title": "Name for the event", "options": [
            {"label": "Co-Producing Co-Production", "id": "copro"}, {"label": "Nothing About Us", "id": "about-us"},
            {"label": "Equal Voices", "id": "voices"}]})
        # first preferences 4 / 3 / 2: Equal Voices goes out first and its ballots decide between the other two
        rankings = [["copro"], ["about-us", "copro"], ["voices", "about-us"], ["copro", "voices"], ["about-us"],
                    ["voices", "about-us"], ["copro", "about-us"], ["about-us", "copro"], ["copro"]]
        for (name, *_rest), ranking in zip(PEOPLE, rankings, strict=True):
            vote(name_vote, name, {"ranking": ranking})
        close(name_vote)

        activities = propose("Jonah Reeves", {"kind": "dot", "title": "Where should the day's time go?", "dots": 5,
                                              "options": [{"label": "Case studies", "id": "cases"},
                                                          {"label": "Table discussions", "id": "tables"},
                                                          {"label": "Networking", "id": "networking"}]})
        for n, (name, *_rest) in enumerate(PEOPLE):
            vote(activities, name, {"scores": {"tables": 3, "cases": 2} if n % 2 else {"cases": 3, "networking": 2}})
        close(activities)

    def publish_a_reflection(self) -> None:
        """A reflection co-written across organisations, approved by the group's consent, in the public feeds."""
        api, publishing, tokens, gid, vote, close = self.api, self.publishing, self.tokens, self.gid, self.vote, self.close
        item = publishing.call("POST", f"/groups/{gid}/items", {
            "kind": "reflection", "title": "Co-production in action: what planning the event taught us",
            "body": "We trusted each other to do everything, and to do it well. Everyone could contribute as much "
                    "or as little as they were able, from introducing the presentations to hosting a table.",
            "tags": ["co-production", "lived experience", "events"], "attribution": "first_name",
        }, token=tokens["Nadia Hart"])
        url = f"/groups/{gid}/items/{item['item_id']}"
        members = {m["name"]: m["member_id"] for o in api.call("GET", f"/groups/{gid}")["organisations"] for m in o["members"]}
        publishing.call("POST", f"{url}/authors", {"member_id": members["Kofi Mensah"], "attribution": "full_name"},
                        token=tokens["Nadia Hart"])
        requested = publishing.call("POST", f"{url}/publication", {"closes_in_days": 7}, token=tokens["Kofi Mensah"])
        proposal = f"/groups/{gid}/proposals/{requested['proposal_id']}"
        print(f"\nReflection by Nadia ({ORGANISATIONS[1]}) and Kofi Mensah ({ORGANISATIONS[0]}): publication requested;")
        for _ in range(100):  # decisions opens the consent proposal from the event it receives over NATS
            try:
                api.call("GET", proposal, token=tokens["Ada Brennan"], quiet=True)
                break
            except LookupError:
                time.sleep(0.1)
        for name, *_rest in PEOPLE:
            vote(requested["proposal_id"], name, {"stance": "agree"})
        close(requested["proposal_id"])
        for _ in range(100):
            if publishing.call("GET", url, token=tokens["Nadia Hart"])["status"] == "published":
                break
            time.sleep(0.1)
        feed = publishing.call("GET", f"/public/groups/{gid}/feed.json", token="")
        for entry in feed["items"]:
            print(f"  published: {entry['title']!r} by {', '.join(a['name'] for a in entry['authors'])}")
        print(f"  feeds: {publishing.base}/public/groups/{gid}/feed.json and feed.atom")

    def plan_the_event(self) -> None:
        """Weekly meetings for six months, then the gathering: roles, 120 attendees and a table plan."""
        scheduling, tokens, gid = self.scheduling, self.tokens, self.gid
        facilitator = tokens["Ada Brennan"]
        first = datetime.now(ZoneInfo(TIME_ZONE)).replace(hour=10, minute=30, second=0, microsecond=0) + timedelta(days=1)
        scheduling.call("POST", f"/groups/{gid}/meetings", {
            "title": "Working group", "starts_at": first.isoformat(), "ends_at": (first + timedelta(minutes=90)).isoformat(),
            "location": "Community centre (step-free)", "rrule": "FREQ=WEEKLY;COUNT=26"}, token=facilitator)
        print(f"\nWeekly working group meetings for six months at 10:30 {TIME_ZONE} time, whatever the clocks do: "
              "26 occurrences, one event in the log.")
        day = first + timedelta(weeks=24)
        gathering = scheduling.call("POST", f"/groups/{gid}/gatherings", {
            "title": "Co-Producing Co-Production", "venue": "Community hall", "starts_at": day.isoformat(),
            "ends_at": (day + timedelta(hours=6)).isoformat(), "capacity": 120,
            "accessibility": "step-free throughout, a quiet room, BSL interpreters"}, token=facilitator)
        g = f"/groups/{gid}/gatherings/{gathering['gathering_id']}"
        for role, places in (("Introduce the presentations", 2), ("Host a table", 15), ("Welcome desk", 3)):
            scheduling.call("POST", f"{g}/roles", {"name": role, "places": places}, token=facilitator)
        role_ids = {r["name"]: r["role_id"] for r in scheduling.call("GET", g, token=facilitator)["roles"]}
        scheduling.call("PUT", f"{g}/capacity", {"max_roles": 1}, token=tokens["Nadia Hart"])
        scheduling.call("POST", f"{g}/roles/{role_ids['Introduce the presentations']}/sign-ups", token=tokens["Nadia Hart"])
        for name, *_rest in PEOPLE[:7]:
            if name != "Nadia Hart":  # she said she can take one role, and has: copro keeps to that
                scheduling.call("POST", f"{g}/roles/{role_ids['Host a table']}/sign-ups", token=tokens[name])
        perspectives = ["lived_experience", "service_provider"] * 54 + ["both"] * 6 + ["other"] * 6
        for n, perspective in enumerate(perspectives):
            scheduling.call("POST", f"{g}/attendees", {
                "name": f"Guest {n + 1}", "perspective": perspective, "organisation": f"Organisation {n % 9 + 1}",
                "needs": ["step_free"] if n % 10 == 0 else []}, token=tokens["Kofi Mensah"])
        layout = [{"table_id": f"Table {n + 1}", "size": 8, "features": ["step_free"] if n < 4 else []} for n in range(15)]
        scheduling.call("PUT", f"{g}/tables", {"tables": layout}, token=facilitator)
        seating = scheduling.call("POST", f"{g}/table-plan", token=facilitator)
        print(f"The event: 120 attendees in an equal mix, {len(role_ids)} roles signed up for, a table plan of 15 tables "
              f"with quality {seating['plan_quality']:.2f} (1 = every table mirrors the room)")
        link = scheduling.call("POST", f"{g}/table-plan/links", token=facilitator)
        print(f"  to print (opens in a browser for 24 hours): {link['url']}")
        print(f"  for a mail merge: {link['csv_url']}")


    def sign_in_links(self, settings: Settings) -> None:
        """A facilitator and a member of each partner organisation, ready to open the web app."""
        from shared.runtime.cli.invite import sign_in_link

        group = self.api.call("GET", f"/groups/{self.gid}")
        print(f"\nSign in to the web app ({settings.web_base}): each link works once, for 72 hours.")
        for organisation in group["organisations"]:
            people = organisation["members"]
            facilitator = next((m for m in people if "facilitator" in m["roles"]), None)
            member = next((m for m in people if m["roles"] == ["member"]), None)
            for person, role in ((facilitator, "facilitator"), (member, "member")):
                if person is not None:
                    link = sign_in_link(settings, self.gid, person["member_id"], self.api.token)
                    print(f"  {organisation['name']:<20} {role:<12} {person['name']:<15} {link}")


def run(settings: Settings) -> int:
    story = Story(settings)
    try:
        urllib.request.urlopen(story.base + "/healthz", timeout=2).close()
    except OSError:
        print(f"copro demo: the decisions service is not answering at {story.base}; start it with `copro up`")
        return 1
    story.form_the_group()
    story.decide_together()
    story.publish_a_reflection()
    story.plan_the_event()
    story.sign_in_links(settings)
    print(f"\nEvery step is an event in the log: GET {story.base}/groups/{story.gid}/proposals and each proposal's /history.")
    return 0
