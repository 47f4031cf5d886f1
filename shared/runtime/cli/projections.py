"""``copro projections list|rebuild`` and ``copro events``: what the services declare, found by module name."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Sequence

from shared.eventlog.store import EventStore
from shared.fanout.catalogue import as_json, markdown
from shared.readmodels.projections import Projection, rebuild
from shared.runtime.cli.servers import prepare
from shared.runtime.discovery import contracts, discover
from shared.runtime.settings import Settings


def discover_projections(modules: Sequence[str]) -> dict[str, Projection]:
    """Projections the services declare (``PROJECTIONS`` in ``services.<name>.projections``)."""
    return {p.name: p for p in discover(modules, "PROJECTIONS")}


def cmd_projections(settings: Settings, action: str, names: list[str], modules: Sequence[str]) -> int:
    known = discover_projections(modules)
    if action == "list":
        for name in sorted(known):
            print(name)
        if not known:
            print("no projections declared")
        return 0
    unknown = sorted(set(names) - set(known))
    if unknown:
        print(f"copro: unknown projection {', '.join(unknown)}; known: {', '.join(sorted(known)) or 'none'}",
              file=sys.stderr)
        return 2
    database_url = prepare(settings).database_url  # the app role: it owns the read models it rebuilds

    def progress(name: str) -> Callable[[int, int], None]:
        def show(position: int, head: int) -> None:
            end = "\r" if sys.stderr.isatty() else "\n"
            print(f"{name}: {position:,} of {head:,} events ({100 * position // max(head, 1)}%)", end=end,
                  file=sys.stderr, flush=True)
        return show

    async def run() -> None:
        store = await EventStore.connect(database_url)
        try:
            for name in names or sorted(known):
                position = await rebuild(store, known[name], progress=progress(name))
                print(f"{name}: rebuilt from 0 to position {position:,} and swapped in")
        finally:
            await store.close()

    asyncio.run(run())
    return 0


def cmd_events(as_json_lines: bool) -> int:
    """The event catalogue (``docs/events.md`` is this command's Markdown)."""
    found = contracts()
    if as_json_lines:
        print(json.dumps(as_json(found), indent=2, sort_keys=True))
    else:
        sys.stdout.write(markdown(found))
    return 0
