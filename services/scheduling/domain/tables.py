"""Table plans: a diverse range of voices on every table.

Hard rules, always kept when they can be: every attendee has one seat; no
table is over its size; people who asked to sit together (a person and their
support worker) do; people who must not sit together don't; each person's
access needs go to a table that meets them. An impossible request is
reported with its reason instead of a plan.

Within those rules the planner seeks, for every table, a mix of perspectives
(lived experience, service provider, both, other) that mirrors the whole
room, with no organisation holding more than half of a table's seats. The
plan is deterministic for the same input (ties go by id), and a re-plan keeps
everyone it can where they were.

The cost of a table is the distance of its mix from the room's (the sum of
|seats of a perspective - its fair share|) plus a heavy penalty per seat an
organisation holds beyond half the table; quality is 1 - that distance over
twice the table's people (1 is a perfect mirror of the room).
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

PERSPECTIVES = ("lived_experience", "service_provider", "both", "other")
DOMINANCE = 4.0  # cost of one seat an organisation holds beyond half a table
MOVE = 0.75  # cost, in a re-plan, of moving someone who already had a seat
CANDIDATES = 8  # tables tried for each person in an improvement pass


@dataclass(frozen=True)
class Attendee:
    id: str
    perspective: str
    organisation: str
    needs: frozenset[str] = frozenset()
    seat_with: frozenset[str] = frozenset()
    not_with: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Table:
    id: str
    size: int
    features: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Infeasible:
    reason: str


@dataclass
class Plan:
    seats: dict[str, str]  # attendee -> table
    quality: dict[str, float]
    overall: float
    moved: int = 0


@dataclass
class _Unit:
    """People who must sit together, placed as one."""

    members: tuple[Attendee, ...]
    needs: frozenset[str]
    avoid: frozenset[str]

    @property
    def id(self) -> str:
        return self.members[0].id

    @property
    def size(self) -> int:
        return len(self.members)


@dataclass
class _State:
    tables: dict[str, Table]
    share: dict[str, float]
    perspective: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    organisation: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    seated: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    count: Counter[str] = field(default_factory=Counter)

    def cost(self, table: str) -> float:
        size = self.tables[table].size
        n = self.count[table]
        mix = self.perspective[table]
        fair = sum(abs(mix[p] - self.share[p] * size) for p in PERSPECTIVES)
        over = max(0, max(self.organisation[table].values(), default=0) - size // 2) if n else 0
        return fair + DOMINANCE * over

    def change(self, unit: _Unit, table: str, sign: int) -> None:
        for person in unit.members:
            self.perspective[table][person.perspective] += sign
            self.organisation[table][person.organisation] += sign
            (self.seated[table].add if sign > 0 else self.seated[table].discard)(person.id)
        self.count[table] += sign * unit.size

    def fits(self, unit: _Unit, table: str) -> bool:
        spec = self.tables[table]
        return (self.count[table] + unit.size <= spec.size and unit.needs <= spec.features
                and not (unit.avoid & self.seated[table]))

    def delta(self, unit: _Unit, table: str) -> float:
        before = self.cost(table)
        self.change(unit, table, +1)
        after = self.cost(table)
        self.change(unit, table, -1)
        return after - before


def _units(attendees: Sequence[Attendee]) -> list[_Unit] | Infeasible:
    by_id = {a.id: a for a in attendees}
    parent = {a.id: a.id for a in attendees}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a in attendees:
        for other in a.seat_with:
            if other in by_id:
                parent[root(a.id)] = root(other)
    groups: dict[str, list[Attendee]] = defaultdict(list)
    for a in sorted(attendees, key=lambda x: x.id):
        groups[root(a.id)].append(a)
    units = []
    for members in groups.values():
        ids = {m.id for m in members}
        avoid = frozenset(x for m in members for x in m.not_with) | frozenset(
            a.id for a in attendees if a.not_with & ids)
        if avoid & ids:
            clash = sorted(avoid & ids)[0]
            return Infeasible(f"{clash} is asked both to sit with and apart from someone in the same group")
        units.append(_Unit(tuple(members), frozenset(n for m in members for n in m.needs), avoid - ids))
    return units


def plan(
    attendees: Sequence[Attendee],
    tables: Sequence[Table],
    previous: Mapping[str, str] | None = None,
    passes: int = 4,
) -> Plan | Infeasible:
    """Seat everyone; with ``previous`` (attendee -> table), move as few of them as possible."""
    units = _units(attendees)
    if isinstance(units, Infeasible):
        return units
    if sum(t.size for t in tables) < len(attendees):
        return Infeasible(f"{len(attendees)} attendees but only {sum(t.size for t in tables)} seats")
    spec = {t.id: t for t in sorted(tables, key=lambda t: t.id)}
    for unit in units:
        if not any(unit.size <= t.size and unit.needs <= t.features for t in spec.values()):
            return Infeasible(f"no table seats {', '.join(m.id for m in unit.members)} together"
                              f"{' with ' + ', '.join(sorted(unit.needs)) if unit.needs else ''}")
    total = Counter(a.perspective for a in attendees)
    share = {p: total[p] / max(len(attendees), 1) for p in PERSPECTIVES}
    state = _State(spec, share)
    where: dict[str, str] = {}
    previous = previous or {}

    # keep people where they were, as far as the rules allow
    for unit in units:
        before = previous.get(unit.id)
        if before in spec and all(previous.get(m.id) == before for m in unit.members) and state.fits(unit, before):
            state.change(unit, before, +1)
            where[unit.id] = before
    # the most constrained first (needs, size, people to avoid), each where it costs least
    waiting = [u for u in units if u.id not in where]
    constrained = sorted((u for u in waiting if u.needs or u.size > 1 or u.avoid),
                         key=lambda u: (-len(u.needs), -u.size, -len(u.avoid), u.id))
    for unit in constrained:
        options = [t for t in spec if state.fits(unit, t)]
        if not options:
            return Infeasible(f"no table is left for {', '.join(m.id for m in unit.members)} under the rules")
        best = min(options, key=lambda t: (state.delta(unit, t), state.count[t] / spec[t].size, t))
        state.change(unit, best, +1)
        where[unit.id] = best
    # then everyone else, dealt like cards: each to the table most short of their perspective
    # (a heap per perspective), passing over a table where their organisation holds half already
    free = sorted((u for u in waiting if not (u.needs or u.size > 1 or u.avoid)),
                  key=lambda u: (u.members[0].perspective, u.members[0].organisation, u.id))
    heaps = {p: [(-(share[p] * t.size - state.perspective[t.id][p]), t.id) for t in spec.values()]
             for p in PERSPECTIVES}
    for heap in heaps.values():
        heapq.heapify(heap)
    for unit in _interleave(free):
        person = unit.members[0]
        heap = heaps[person.perspective]
        skipped = []
        chosen = None
        while heap:
            key, table = heapq.heappop(heap)
            current = -(share[person.perspective] * spec[table].size - state.perspective[table][person.perspective])
            if current != key:
                heapq.heappush(heap, (current, table))  # stale entry: re-queue with its true deficit
                continue
            if state.count[table] >= spec[table].size:
                continue  # full: it leaves this heap for good
            if state.organisation[table][person.organisation] + 1 > spec[table].size // 2 and chosen is None:
                skipped.append((key, table))
                if len(skipped) < 8:
                    continue
            chosen = table
            break
        if chosen is None and skipped:
            chosen = skipped.pop(0)[1]
        for entry in skipped:
            heapq.heappush(heap, entry)
        if chosen is None:
            return Infeasible(f"no table is left for {person.id}")
        state.change(unit, chosen, +1)
        where[unit.id] = chosen
        heapq.heappush(heap, (-(share[person.perspective] * spec[chosen].size
                                - state.perspective[chosen][person.perspective]), chosen))
    _improve(state, units, where, previous, passes)
    seats = {m.id: where[u.id] for u in units for m in u.members}
    result = evaluate(attendees, tables, seats)
    result.moved = sum(1 for a, t in seats.items() if a in previous and previous[a] != t)
    return result


def _interleave(units: list[_Unit]) -> list[_Unit]:
    """Alternate organisations within each perspective, so no table fills from one organisation."""
    by_key: dict[tuple[str, str], list[_Unit]] = defaultdict(list)
    for unit in units:
        by_key[(unit.members[0].perspective, unit.members[0].organisation)].append(unit)
    out: list[_Unit] = []
    for perspective in sorted({k[0] for k in by_key}):
        queues = [by_key[k] for k in sorted(by_key) if k[0] == perspective]
        while any(queues):
            for queue in queues:
                if queue:
                    out.append(queue.pop(0))
    return out


def _quality(state: _State, table: str) -> float:
    n = state.count[table]
    mix = state.perspective[table]
    distance = sum(abs(Fraction(mix[p]) / n - Fraction(state.share[p]).limit_denominator(10**6)) for p in PERSPECTIVES)
    over = max(0, max(state.organisation[table].values(), default=0) - state.tables[table].size // 2)
    return max(0.0, float(1 - distance / 2) - 0.1 * over)


def _move_cost(unit: _Unit, table: str, previous: Mapping[str, str]) -> float:
    before = previous.get(unit.id)
    return MOVE * unit.size if before is not None and before != table else 0.0


def _improve(state: _State, units: list[_Unit], where: dict[str, str], previous: Mapping[str, str], passes: int) -> None:
    """Move or swap units between tables while that lowers the total cost (deterministic, bounded).

    Only promising pairs are tried: a unit goes where its perspective is short,
    and is swapped for someone whose perspective its own table is short of.
    """
    by_table: dict[str, list[_Unit]] = defaultdict(list)
    for unit in units:
        by_table[where[unit.id]].append(unit)
    tables = list(state.tables)

    def short(table: str, perspective: str) -> bool:
        return state.perspective[table][perspective] < state.share[perspective] * state.tables[table].size

    for _ in range(passes):
        improved = False
        # where each perspective is shortest: the only places worth trying for it this pass
        shortest = {p: sorted(tables, key=lambda t: (state.perspective[t][p] - state.share[p] * state.tables[t].size,
                                                     t))[:CANDIDATES] for p in PERSPECTIVES}
        for source in sorted(tables, key=lambda t: (-state.cost(t), t)):
            if state.cost(source) < 0.5:
                continue
            for unit in sorted(by_table[source], key=lambda u: u.id):
                if where[unit.id] != source:
                    continue
                mine = unit.members[0].perspective
                best: tuple[float, str, _Unit | None] | None = None
                before = state.cost(source) + _move_cost(unit, source, previous)
                state.change(unit, source, -1)
                for target in shortest[mine]:
                    if target == source or not short(target, mine):
                        continue
                    old = before + state.cost(target)
                    if state.fits(unit, target):
                        state.change(unit, target, +1)
                        new = state.cost(source) + state.cost(target) + _move_cost(unit, target, previous)
                        state.change(unit, target, -1)
                        if old - new > 1e-9 and (best is None or old - new > best[0]):
                            best = (old - new, target, None)
                    for other in by_table[target]:
                        theirs = other.members[0].perspective
                        if other.size != unit.size or theirs == mine or not short(source, theirs):
                            continue
                        state.change(other, target, -1)
                        if state.fits(unit, target) and state.fits(other, source):
                            state.change(unit, target, +1)
                            state.change(other, source, +1)
                            new = (state.cost(source) + state.cost(target) + _move_cost(unit, target, previous)
                                   + _move_cost(other, source, previous))
                            state.change(other, source, -1)
                            state.change(unit, target, -1)
                            saving = old + _move_cost(other, target, previous) - new
                            if saving > 1e-9 and (best is None or saving > best[0]):
                                best = (saving, target, other)
                        state.change(other, target, +1)
                if best is None:
                    state.change(unit, source, +1)
                    continue
                _, target, partner = best
                state.change(unit, target, +1)
                by_table[source].remove(unit)
                by_table[target].append(unit)
                where[unit.id] = target
                if partner is not None:
                    state.change(partner, target, -1)
                    state.change(partner, source, +1)
                    by_table[target].remove(partner)
                    by_table[source].append(partner)
                    where[partner.id] = source
                improved = True
        if not improved:
            return


def evaluate(attendees: Sequence[Attendee], tables: Sequence[Table], seats: Mapping[str, str]) -> Plan:
    """The quality of any seating, by the same measure the planner uses (for tests and comparisons)."""
    spec = {t.id: t for t in tables}
    total = Counter(a.perspective for a in attendees)
    state = _State(spec, {p: total[p] / max(len(attendees), 1) for p in PERSPECTIVES})
    for person in attendees:
        state.change(_Unit((person,), person.needs, frozenset()), seats[person.id], +1)
    quality = {t: _quality(state, t) for t in spec if state.count[t]}
    seated = sum(state.count.values())
    overall = sum(quality[t] * state.count[t] for t in quality) / seated if seated else 1.0
    return Plan(seats=dict(seats), quality=quality, overall=overall)


def violations(attendees: Iterable[Attendee], tables: Iterable[Table], seats: Mapping[str, str]) -> list[str]:
    """Every hard rule a plan breaks (empty for a valid plan): the check tests and callers share."""
    spec = {t.id: t for t in tables}
    people = list(attendees)
    problems = []
    load = Counter(seats.values())
    for table, n in load.items():
        if n > spec[table].size:
            problems.append(f"table {table} seats {n} of {spec[table].size}")
    for person in people:
        seat = seats.get(person.id)
        if seat is None:
            problems.append(f"{person.id} has no seat")
            continue
        if not person.needs <= spec[seat].features:
            problems.append(f"{person.id}'s needs are not met at {seat}")
        problems += [f"{person.id} apart from {o}" for o in person.seat_with if o in seats and seats[o] != seat]
        problems += [f"{person.id} sits with {o}" for o in person.not_with if seats.get(o) == seat]
    return problems
