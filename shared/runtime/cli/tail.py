"""``copro tail GROUP``: a group's events as they happen, readable in a terminal, from the SSE stream.

It reads the publishing service's Server-Sent Events with a bearer token
(the operator's by default), so it sees what that token may see, resumes
from a position with ``--after``, and reconnects with ``Last-Event-ID``
after a dropped connection, so nothing is missed and nothing is shown twice.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from shared.audit.trace import actor_names
from shared.domain.contract import type_name
from shared.runtime.discovery import contracts, reaction_names
from shared.runtime.settings import Settings

RETRIES = 30


@dataclass(frozen=True)
class Shown:
    """Which events to show: by service (the part of the type before the dot) and by type."""

    services: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()

    def wants(self, event_type: str) -> bool:
        service, _, name = event_type.partition(".")
        if self.services and service not in self.services:
            return False
        return not self.types or event_type in self.types or name in self.types


def sse_messages(lines: Iterator[str]) -> Iterator[tuple[str | None, str | None, str]]:
    """(id, event, data) of each Server-Sent Events message."""
    event_id: str | None = None
    event: str | None = None
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield event_id, event, "\n".join(data)
            event_id, event, data = None, None, []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "id":
                event_id = value
            elif name == "event":
                event = value
            elif name == "data":
                data.append(value)


def readable(event: dict[str, object], names: dict[uuid.UUID, str] | None = None) -> str:
    """One line a person can scan: position, time, type, stream, who acted (a system actor by its name, as
    ``copro audit trace`` names it), the payload in short."""
    actor = event.get("actorid")
    named = (names or {}).get(uuid.UUID(str(actor))) if actor else None
    who = named or (f"member {actor}" if actor and event.get("actororg") else actor or "-")
    data = json.dumps(event.get("data"), separators=(",", ":"), ensure_ascii=False)
    return (f"{event.get('position')!s:>8}  {str(event.get('time'))[:19]}  {event.get('type')!s:<34} "
            f"{event.get('subject')}  by {who}  {data[:120]}{'…' if len(data) > 120 else ''}")


def unknown_types(asked: frozenset[str]) -> list[str]:
    """The asked types no service writes (by full name, ``decisions.BallotCast``, or bare, ``BallotCast``)."""
    known = {type_name(t) for contract in contracts() for t in contract.types}
    known |= {name.partition(".")[2] for name in known}
    return sorted(asked - known)


def cmd_tail(settings: Settings, group: uuid.UUID, *, after: int | None, shown: Shown, as_json: bool,
             count: int | None, url: str | None, token: str | None) -> int:
    if missing := unknown_types(shown.types):  # else it would wait in silence for events that may never come
        print(f"copro tail: no service writes {', '.join(missing)} (`copro events` lists the event types); "
              "waiting for it all the same", file=sys.stderr)
    names = actor_names(reaction_names())
    base = url or f"http://{settings.host}:{settings.ports['publishing']}"
    bearer = token or os.environ.get("COPRO_TOKEN") or settings.operator_token_path.read_text().strip()
    position, printed, failures = after, 0, 0
    while failures <= RETRIES:
        headers = {"Authorization": f"Bearer {bearer}", "Accept": "text/event-stream"}
        params = {"after": str(position)} if position is not None else {}
        try:
            with httpx.stream("GET", f"{base}/groups/{group}/events/stream", headers=headers, params=params,
                              timeout=httpx.Timeout(10.0, read=None)) as response:
                if response.status_code != 200:
                    print(f"copro tail: {response.status_code} {response.read().decode()[:300]}", file=sys.stderr)
                    return 1
                failures = 0
                for event_id, _kind, data in sse_messages(response.iter_lines()):
                    position = int(event_id) if event_id and event_id.isdigit() else position
                    event = json.loads(data)
                    if not shown.wants(str(event.get("type"))):
                        continue
                    print(json.dumps(event, ensure_ascii=False) if as_json else readable(event, names), flush=True)
                    printed += 1
                    if count is not None and printed >= count:
                        return 0
        except httpx.TransportError as exc:
            failures += 1
            print(f"copro tail: connection lost ({type(exc).__name__}); resuming after position {position}",
                  file=sys.stderr)
            time.sleep(min(5.0, 0.2 * 2 ** failures))
        except KeyboardInterrupt:
            return 0
    print(f"copro tail: the publishing service at {base} did not answer {RETRIES} times; giving up", file=sys.stderr)
    return 1
