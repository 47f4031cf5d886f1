"""Table planning: time and quality for 120, 1,000 and 5,000 attendees, beside naive seating.

Quality is 1 minus the distance of each table's mix of perspectives from the
room's (1 mirrors the room exactly), averaged over attendees, less a penalty
where one organisation holds more than half a table. Beside it, the same
measure for seating people in registration order, table by table: what a
plan does better than no plan. Targets: 1,000 attendees in < 1 s, 5,000 in < 10 s.

    python bench/tables.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.scheduling.domain.tables import PERSPECTIVES, Attendee, Plan, Table, evaluate, plan, violations


def room(n: int, seed: int = 7) -> tuple[list[Attendee], list[Table]]:
    """An equal mix of lived experience and providers, some both/other, 6 organisations, access needs, pairs."""
    rng = random.Random(seed)
    people = []
    for i in range(n):
        needs = frozenset({"step_free"}) if rng.random() < 0.08 else frozenset({"quiet"}) if rng.random() < 0.05 else frozenset()
        people.append(Attendee(
            f"a{i:05d}", rng.choices(PERSPECTIVES, [4, 4, 1, 1])[0], f"org{rng.randrange(6)}", needs,
            frozenset({f"a{i + 1:05d}"}) if i % 40 == 0 and i + 1 < n else frozenset(),
            frozenset({f"a{i + 7:05d}"}) if i % 55 == 0 and i + 7 < n else frozenset(),
        ))
    tables = [Table(f"t{j:04d}", 8, frozenset({"step_free", *(["quiet"] if j % 4 == 0 else [])}) if j % 2 == 0
                    else frozenset()) for j in range((n + 7) // 8 + 2)]
    return people, tables


def main() -> None:
    print(f"{'attendees':>9} {'tables':>7} {'plan s':>7} {'quality':>8} {'worst table':>11} {'naive quality':>13} {'rules':>6}")
    for n in (120, 1_000, 5_000):
        people, tables = room(n)
        started = time.perf_counter()
        result = plan(people, tables)
        elapsed = time.perf_counter() - started
        assert isinstance(result, Plan)
        naive = evaluate(people, tables, {p.id: tables[i // 8].id for i, p in enumerate(people)})
        broken = len(violations(people, tables, result.seats))
        print(f"{n:>9,} {len(tables):>7,} {elapsed:>7.2f} {result.overall:>8.3f} {min(result.quality.values()):>11.3f} "
              f"{naive.overall:>13.3f} {broken or 'kept':>6}")


if __name__ == "__main__":
    main()
