"""Auditing a large history: export, verify and replay (with every outcome recomputed), in events/s.

One run on a fresh database filled with a realistic decisions history:
proposals with ~1,000 ballots each, opened, voted on and closed by the real
decider, 1,000,000 events in all (100,000 with --quick). Beside each figure,
the floor measured in the same run: reading the same data and decoding it,
with none of the checks.

    python bench/audit.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_database
from services.decisions.audit import OutcomeCheck
from services.decisions.domain.proposal import Cast, Close, OpenProposal, Voter, proposal_decider, proposal_stream
from services.decisions.domain.rules import Rule
from services.decisions.events import Choice, Option
from services.decisions.projections import ProposalList
from shared.audit.export import export_lines
from shared.audit.replay import drop_scratch, replay
from shared.audit.verify import verify_lines
from shared.domain.decider import event_type_name
from shared.domain.ids import new_id
from shared.eventlog.envelope import NewEvent
from shared.eventlog.sealer import Sealer
from shared.eventlog.store import EventStore
from shared.fanout.cloudevents import StructuredEvent

BALLOTS = 998  # with its opening and closing, 1,000 events a proposal
ORGS = tuple(uuid.UUID(int=n) for n in (1, 2, 3))


def proposal_events(n: int) -> tuple[uuid.UUID, list[NewEvent]]:
    """One proposal's whole life, decided by the real decider."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n)
    pid = new_id()
    rule = Rule(counting="organisation_parity") if n % 2 else Rule()
    first = OpenProposal(
        proposal_id=pid, group_id=uuid.UUID(int=7), author=Voter(new_id(), ORGS[0], False), kind="choice",
        title=f"Proposal {n}", body="", options=(Option(id="yes", label="Yes"), Option(id="no", label="No")),
        opens_at=t0, closes_at=t0 + timedelta(days=7), rule=rule, organisations=ORGS, visibility="open",
        amend_policy="keep_valid", max_choices=1, max_score=5, dots=10, at=t0,
    )
    commands: list[object] = [first]
    for b in range(BALLOTS):
        voter = Voter(new_id(), ORGS[b % 3], b % 4 == 0)
        commands.append(Cast(event_id=new_id(), voter=voter, choice=Choice(option=("yes", "no")[b % 5 == 0]),
                             reason=None, at=t0 + timedelta(minutes=b)))
    commands.append(Close(by=None, at=t0 + timedelta(days=8)))
    state = proposal_decider.initial_state()
    out = []
    for command in commands:
        for event in proposal_decider.decide(command, state):  # type: ignore[arg-type]
            state = proposal_decider.evolve(state, event)
            out.append(NewEvent(id=getattr(event, "event_id", None) or new_id(), type=event_type_name(event),
                                data=event))
    return pid, out


async def fill(store: EventStore, proposals: int) -> int:
    for n in range(proposals):
        pid, events = proposal_events(n)
        version = 0
        for start in range(0, len(events), 500):
            batch = events[start : start + 500]
            await store.append(group_id=uuid.UUID(int=7), stream_id=proposal_stream(pid), events=batch,
                               expected_version=version)
            version += len(batch)
    return int(await store.pool.fetchval("SELECT count(*) FROM events"))


async def main(quick: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="copro-audit-"))
    async with fresh_database("audit") as url:
        try:
            store = await EventStore.connect(url, min_size=2, max_size=4)
            started = time.perf_counter()
            total = await fill(store, 100 if quick else 1000)
            stop = asyncio.Event()
            sealing = asyncio.create_task(Sealer(url).run(stop))
            while await store.head_position() < total:
                await asyncio.sleep(0.2)
            stop.set()
            await sealing
            print(f"filled and sealed {total:,} events in {time.perf_counter() - started:.0f}s", file=sys.stderr)

            export_file = folder / "log.jsonl"
            started = time.perf_counter()
            with export_file.open("wb") as handle:
                async for chunk in export_lines(store):
                    handle.write(chunk)
            export_rate = total / (time.perf_counter() - started)
            started = time.perf_counter()
            async with store.pool.acquire() as conn, conn.transaction():
                async for _ in conn.cursor("SELECT * FROM events ORDER BY seq", prefetch=5000):
                    pass
            export_floor = total / (time.perf_counter() - started)

            started = time.perf_counter()
            with export_file.open("rb") as handle:
                report = verify_lines(handle)
            verify_rate = total / (time.perf_counter() - started)
            assert report.ok, report.findings[:3]
            decode = msgspec.json.Decoder(StructuredEvent).decode
            started = time.perf_counter()
            with export_file.open("rb") as handle:
                for line in handle:
                    if b'"position"' in line:
                        decode(line)
            verify_floor = total / (time.perf_counter() - started)

            started = time.perf_counter()
            result = await replay(store, [ProposalList()], [OutcomeCheck()])
            replay_rate = total / (time.perf_counter() - started)
            assert result.ok and result.checks[0].counts["outcomes recomputed"] == (100 if quick else 1000)
            await drop_scratch(store, result.schema)
            started = time.perf_counter()
            position = 0
            while page := await store.read_all(position, 5000):
                position = page[-1].position or position
            replay_floor = total / (time.perf_counter() - started)
            await store.close()

            print(f"\ncopro audit over {total:,} events ({export_file.stat().st_size / 1e6:,.0f} MB exported), one run")
            print(f"{'':<58} {'events/s':>10} {'floor ev/s':>11} {'ratio':>6}")
            rows = [
                ("export (CloudEvents JSON lines with integrity fields)", export_rate, export_floor,
                 "cursor read of the events table"),
                ("verify offline (every content hash, chain, checkpoint)", verify_rate, verify_floor,
                 "reading and decoding the export"),
                ("replay (read model rebuilt, every outcome recomputed)", replay_rate, replay_floor,
                 "read_all of the log"),
            ]
            for label, rate, floor, what in rows:
                print(f"{label:<58} {rate:>10,.0f} {floor:>11,.0f} {rate / floor:>5.2f}x   (floor: {what})")
        finally:
            for file in folder.iterdir():
                file.unlink()
            folder.rmdir()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100,000 events instead of 1,000,000")
    asyncio.run(main(parser.parse_args().quick))
