"""Auditing a large history: export, verify and replay (with every outcome recomputed), in events/s.

One run on a fresh database filled with a realistic decisions history:
proposals with ~1,000 ballots each from a group's ~1,000 members, opened,
voted on and closed by the real decider, 1,000,000 events in all (100,000
with --quick), sealed and vacuumed (a history at rest). Beside each figure,
its floor measured in the same run: the least work that gives the same
output without any of copro's checks, each read with one server-side cursor
fetched in pages of 5,000 rows. Each side runs twice (copro, floor, floor,
copro) and keeps its best time, so neither always meets a cold cache:

- export floor: the same rows (log joined to events, in position order)
  encoded as the same CloudEvents JSON lines with a plain msgspec encoder
  (times by ``isoformat``, as fast as copro formats them) and written to a
  file (copro also writes the header, the checkpoints and their signatures in
  between);
- verify floor: reading the export line by line and decoding each event line
  into a struct with the same fields, in one process (copro also recomputes
  every content hash, stream chain and the global chain, checks every
  checkpoint and signature). The floor is the plain single-process read;
  copro verifies with one process per core (``copro audit verify``'s
  default, as on an auditor's machine), and the run prints how many;
- replay floor: reading the log in position order and decoding every event's
  payload into its struct (copro also opens seals and personal fields,
  rebuilds the read model in a scratch schema and recounts every outcome).

    python bench/audit.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_database, owner_url, vacuum
from services.decisions.audit import OutcomeCheck
from services.decisions.domain.proposal import Cast, Close, OpenProposal, Voter, proposal_decider, proposal_stream
from services.decisions.domain.rules import Rule
from services.decisions.events import Choice, Option, ProposalEvent
from services.decisions.projections import ProposalList
from shared.audit.export import export_lines
from shared.audit.replay import drop_scratch, replay
from shared.audit.verify import EventLine
from shared.audit.verify_parallel import default_jobs, verify_file
from shared.domain.decider import event_type_name
from shared.domain.ids import new_id
from shared.eventlog.envelope import NewEvent
from shared.eventlog.sealer import Sealer
from shared.eventlog.store import EventStore
from shared.fanout.cloudevents import StructuredEvent

BALLOTS = 998  # with its opening and closing, 1,000 events a proposal
ORGS = tuple(uuid.UUID(int=n) for n in (1, 2, 3))
GROUP = uuid.UUID(int=7)
MEMBERS = [Voter(uuid.UUID(int=1000 + b), ORGS[b % 3], b % 4 == 0) for b in range(BALLOTS)]
"""The group's members: each votes on every proposal (their personal-data keys are made once)."""
PAGE = 5000
WRITERS = 4


def proposal_events(n: int) -> tuple[uuid.UUID, list[NewEvent]]:
    """One proposal's whole life, decided by the real decider."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n)
    pid = new_id()
    rule = Rule(counting="organisation_parity") if n % 2 else Rule()
    first = OpenProposal(
        proposal_id=pid, group_id=GROUP, author=MEMBERS[n % BALLOTS], kind="choice",
        title=f"Proposal {n}", body="", options=(Option(id="yes", label="Yes"), Option(id="no", label="No")),
        opens_at=t0, closes_at=t0 + timedelta(days=7), rule=rule, organisations=ORGS, visibility="open",
        amend_policy="keep_valid", max_choices=1, max_score=5, dots=10, at=t0,
    )
    commands: list[object] = [first]
    for b, voter in enumerate(MEMBERS):
        commands.append(Cast(event_id=new_id(), voter=voter, choice=Choice(option=("yes", "no")[(b + n) % 5 == 0]),
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


async def fill(url: str, proposals: int) -> int:
    """Append every proposal's life (a few writers at once, 1,000 events an append) while the sealer seals."""
    store = await EventStore.connect(url, min_size=WRITERS, max_size=WRITERS)
    stop = asyncio.Event()
    sealing = asyncio.create_task(Sealer(url).run(stop))
    numbers = iter(range(proposals))

    async def writer_of(n: int) -> None:
        pid, events = proposal_events(n)
        await store.append(group_id=GROUP, stream_id=proposal_stream(pid), events=events, expected_version=0)

    async def writer() -> None:
        for n in numbers:
            await writer_of(n)

    try:
        await writer_of(next(numbers))  # alone: the members' personal-data keys are made here, once
        await asyncio.gather(*(writer() for _ in range(WRITERS)))
        total = int(await store.pool.fetchval("SELECT count(*) FROM events"))
        while await store.head_position() < total:
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await sealing
        await store.close()
    return total


# -- the floors: the same output by the plainest means, none of the checks --------------

_FLOOR_ROWS = (
    "SELECT l.position, l.global_hash, e.id, e.group_id, e.stream_id, e.stream_version, e.type, e.payload,"
    " e.actor_id, e.actor_org, e.causation_id, e.correlation_id, e.recorded_at, e.content_hash, e.chain_hash"
    " FROM log l JOIN events e ON e.seq = l.seq ORDER BY l.position"
)


async def _floor_pages(url: str, work: Callable[[list[asyncpg.Record]], None]) -> None:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            cursor = await conn.cursor(_FLOOR_ROWS)
            while rows := await cursor.fetch(PAGE):
                work(rows)
    finally:
        await conn.close()


async def export_floor(url: str, path: Path) -> None:
    encode = msgspec.json.Encoder().encode
    with path.open("wb") as handle:
        def write(rows: list[asyncpg.Record]) -> None:
            handle.write(b"".join(encode(StructuredEvent(
                id=r[2], type=r[6], subject=r[4], time=r[12].isoformat(timespec="microseconds")[:-6] + "Z",
                data=msgspec.Raw(r[7]),
                groupid=r[3], streamid=r[4], streamversion=r[5], position=r[0], actorid=r[8], actororg=r[9],
                causationid=r[10], correlationid=r[11], contenthash=r[13].hex(), chainhash=r[14].hex(),
                globalhash=r[1].hex())) + b"\n" for r in rows))
        await _floor_pages(url, write)


def verify_floor(path: Path) -> None:
    decode = msgspec.json.Decoder(EventLine).decode  # the verifier's own struct: the same decode, nothing checked
    with path.open("rb") as handle:
        for line in handle:
            if line.startswith(b'{"specversion"'):
                decode(line)


async def replay_floor(url: str) -> None:
    decode = msgspec.json.Decoder(ProposalEvent).decode
    await _floor_pages(url, lambda rows: [decode(r[7]) for r in rows] and None)


# -- the run ---------------------------------------------------------------------------------

async def timed(work: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def paired(copro: Callable[[], Awaitable[object]], floor: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """The best of two runs each, in the order copro, floor, floor, copro: neither side always meets a cold cache."""
    first, floors = await timed(copro), [await timed(floor), await timed(floor)]
    return min(first, await timed(copro)), min(floors)


async def measure(url: str, total: int, proposals: int, folder: Path) -> list[tuple[str, float, float, str]]:
    """Each audit beside its floor, in events/s."""
    store = await EventStore.connect(url, min_size=2, max_size=4)
    owner = await EventStore.connect(owner_url(url), min_size=2, max_size=4)
    export_file, floor_file = folder / "log.jsonl", folder / "floor.jsonl"
    try:
        async def export() -> None:
            with export_file.open("wb") as handle:
                async for chunk in export_lines(store):
                    handle.write(chunk)

        async def verify() -> None:
            report = verify_file(export_file)  # one process per core
            assert report.ok and report.events == total, report.findings[:3]

        async def replayed() -> None:
            result = await replay(owner, [ProposalList()], [OutcomeCheck()])
            assert result.ok and result.checks[0].counts["outcomes recomputed"] == proposals, result.checks
            await drop_scratch(owner, result.schema)

        async def verify_plain() -> None:
            verify_floor(export_file)

        rows = [
            ("export (CloudEvents JSON lines with integrity fields)",
             await paired(export, lambda: export_floor(url, floor_file)), "same rows encoded as the same lines"),
            (f"verify offline (every hash, chain, checkpoint; {default_jobs()} jobs)",
             await paired(verify, verify_plain), "reading and decoding the export, one process"),
            ("replay (read model rebuilt, every outcome recomputed)",
             await paired(replayed, lambda: replay_floor(url)), "ordered read, every payload decoded"),
        ]
        with export_file.open("rb") as exported, floor_file.open("rb") as floor_lines:
            events = (line for line in exported if line.startswith(b'{"specversion"'))
            assert all(a == b for a, b in zip(events, floor_lines, strict=True)), "the floor wrote other lines"
        return [(label, total / copro, total / floor, what) for label, (copro, floor), what in rows]
    finally:
        await store.close()
        await owner.close()


async def main(quick: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="copro-audit-"))
    proposals = 100 if quick else 1000
    async with fresh_database("audit") as url:
        try:
            started = time.perf_counter()
            total = await fill(url, proposals)
            await vacuum(url)
            print(f"filled and sealed {total:,} events in {time.perf_counter() - started:.0f}s", file=sys.stderr)
            rows = await measure(url, total, proposals, folder)
            size = (folder / "log.jsonl").stat().st_size / 1e6
            print(f"\ncopro audit over {total:,} events ({size:,.0f} MB exported), one run")
            print(f"{'':<56} {'events/s':>10} {'floor ev/s':>11} {'ratio':>6}")
            for label, rate, floor, what in rows:
                print(f"{label:<56} {rate:>10,.0f} {floor:>11,.0f} {rate / floor:>5.2f}x   (floor: {what})")
        finally:
            for file in folder.iterdir():
                file.unlink()
            folder.rmdir()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100,000 events instead of 1,000,000")
    asyncio.run(main(parser.parse_args().quick))
