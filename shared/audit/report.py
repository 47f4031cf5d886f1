"""The replay as a page an auditor can keep and print: what was decided, when, how, and what it caused.

A table carries everything (group, full title, dates, result, tally as exact
fractions, explanation, effects); the timeline beside it shows the same
decisions on a dated axis, each result named in words as well as by colour
and pattern, so the page reads the same in black and white.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from shared.audit.replay import CheckSummary, Decision, ReplayResult

RESULTS = {  # colour, and a pattern so the result never rests on colour alone
    "passed": ("#1b5e20", "solid"), "chosen": ("#0d47a1", "solid"), "rejected": ("#616161", "hatch"),
    "blocked": ("#b71c1c", "cross"), "no_quorum": ("#e65100", "dots"), "tie": ("#4a148c", "hatch"),
}
WIDTH, LEFT, ROW = 960, 330, 26

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#111;line-height:1.45}
table{border-collapse:collapse;width:100%;margin:1em 0}th,td{border:1px solid #999;padding:4px 8px;
vertical-align:top;text-align:left}caption{text-align:left;font-weight:bold;padding:4px 0}
.result{font-weight:bold}svg text{font-family:system-ui,sans-serif}
@media print{body{margin:0;max-width:none}h2{break-before:page}table,svg{break-inside:avoid}}
"""


def _day(moment: datetime) -> str:
    return moment.strftime("%d %b %Y")


def _when(moment: datetime, span: float) -> str:
    """A tick's label: the day, and the time of day when the whole timeline spans under two days."""
    return moment.strftime("%d %b %H:%M" if span < 2 * 86400 else "%d %b %Y")


def _patterns() -> str:
    defs = []
    for result, (colour, pattern) in RESULTS.items():
        inner = {"solid": "", "hatch": '<path d="M0,8 L8,0" stroke="white" stroke-width="2"/>',
                 "cross": '<path d="M0,0 L8,8 M0,8 L8,0" stroke="white" stroke-width="1.5"/>',
                 "dots": '<circle cx="4" cy="4" r="1.6" fill="white"/>'}[pattern]
        defs.append(f'<pattern id="p-{result}" width="8" height="8" patternUnits="userSpaceOnUse">'
                    f'<rect width="8" height="8" fill="{colour}"/>{inner}</pattern>')
    return f"<defs>{''.join(defs)}</defs>"


def _tally(decision: Decision) -> str:
    return "; ".join(f"{option}: {weight}" for option, weight in decision.tally) or "no tally"


def _timeline(decisions: list[Decision]) -> str:
    """The decisions on a dated axis: one row each, the full title at the left, dates below."""
    if not decisions:
        return "<p>No decision was closed up to this point.</p>"
    first = min(d.opened_at for d in decisions)
    last = max(d.closed_at for d in decisions)
    span = max((last - first).total_seconds(), 3600.0)
    scale = (WIDTH - LEFT - 20) / span
    rows = []
    for n, decision in enumerate(sorted(decisions, key=lambda d: (d.opened_at, d.label))):
        y = 10 + n * ROW
        x = LEFT + (decision.opened_at - first).total_seconds() * scale
        w = max(4.0, (decision.closed_at - decision.opened_at).total_seconds() * scale)
        label = escape(decision.label if len(decision.label) <= 44 else decision.label[:43].rsplit(" ", 1)[0] + "…")
        hover = escape(f"{decision.label} ({decision.group}): {decision.result.replace('_', ' ')}, "
                       f"{_day(decision.opened_at)} to {_day(decision.closed_at)}; {_tally(decision)}")
        fill = f"url(#p-{decision.result})" if decision.result in RESULTS else "#455a64"
        rows.append(f'<g><title>{hover}</title><text x="4" y="{y + 15}" font-size="13">{label}</text>'
                    f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="15" fill="{fill}" stroke="#111"/>'
                    f'<text x="{min(x + w + 4, WIDTH - 70):.1f}" y="{y + 15}" font-size="11">'
                    f"{escape(decision.result.replace('_', ' '))}</text></g>")
    axis_y = 14 + len(decisions) * ROW
    ticks = []
    for k in range(5):
        moment = first + timedelta(seconds=span * k / 4)
        x = LEFT + span * k / 4 * scale
        anchor = "start" if k == 0 else "end" if k == 4 else "middle"
        ticks.append(f'<line x1="{x:.1f}" y1="6" x2="{x:.1f}" y2="{axis_y}" stroke="#ccc"/>'
                     f'<text x="{x:.1f}" y="{axis_y + 16}" font-size="11" text-anchor="{anchor}">'
                     f"{_when(moment, span)}</text>")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{axis_y + 26}" role="img" '
            f'aria-label="Timeline of {len(decisions)} decisions from {_day(first)} to {_day(last)}">'
            f'{_patterns()}{"".join(ticks)}{"".join(rows)}</svg>')


def _legend() -> str:
    items = "".join(
        f'<li><svg width="28" height="14" aria-hidden="true">{_patterns() if n == 0 else ""}'
        f'<rect width="28" height="14" fill="url(#p-{result})" stroke="#111"/></svg> {result.replace("_", " ")}</li>'
        for n, result in enumerate(RESULTS))
    return f'<ul style="list-style:none;display:flex;flex-wrap:wrap;gap:1.2em;padding:0">{items}</ul>'


def _table(decisions: list[Decision]) -> str:
    several = len({d.group for d in decisions}) > 1  # one group is named in the title already
    rows = "".join(
        f"<tr><td>{escape(d.label)}<br><small>{escape(d.kind)}{', ' + escape(d.group) if several else ''}</small></td>"
        f"<td>{_day(d.opened_at)} to {_day(d.closed_at)}</td>"
        f"<td class='result'>{escape(d.result.replace('_', ' '))}</td><td>{escape(_tally(d))}</td>"
        f"<td>{escape(d.explanation)}</td><td>{escape(', '.join(d.caused) or 'nothing recorded')}</td></tr>"
        for d in sorted(decisions, key=lambda d: (d.closed_at, d.label)))
    return ("<table><caption>Every closed decision, its tally (exact fractions) and what it caused</caption>"
            "<tr><th style='width:18%'>decision</th><th style='width:11%'>open</th><th>result</th>"
            f"<th style='width:15%'>tally</th><th style='width:32%'>why</th><th>caused</th></tr>{rows}</table>"
            ) if rows else ""


def _section(check: CheckSummary) -> str:
    counts = "".join(f"<tr><td>{escape(k)}</td><td>{v:,}</td></tr>" for k, v in check.counts.items())
    counts += f"<tr><td>mismatches</td><td>{len(check.mismatches):,}</td></tr>"
    mismatches = "".join(
        f"<li>position {m.position}, {escape(m.stream_id)}: {escape(m.detail)}</li>" for m in check.mismatches)
    left_out = ", ".join(f"{n:,} {escape(reason)}" for reason, n in sorted(check.left_out.items()))
    return (f"<h2>{escape(check.name)}</h2><table><caption>What was checked</caption>{counts}</table>"
            f"{'<ul>' + mismatches + '</ul>' if mismatches else ''}"
            f"{_timeline(check.timeline)}{_legend() if check.timeline else ''}"
            f"<p>Not on the timeline: {left_out or 'nothing'}.</p>{_table(check.timeline)}")


def html_report(result: ReplayResult) -> str:
    groups = sorted({d.group for check in result.checks for d in check.timeline})
    verdict = "every recorded outcome recomputes identically" if result.ok else "MISMATCHES FOUND"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>copro replay: {escape(', '.join(groups) or 'the log')}</title><style>{STYLE}</style></head>"
        f"<body><h1>Decisions replayed: {escape(', '.join(groups) or 'the whole log')}</h1>"
        f"<p>{result.events:,} events replayed up to position {result.until:,}; read models rebuilt in schema "
        f"<code>{escape(result.schema)}</code> ({escape(', '.join(sorted(result.tables)) or 'none')}). "
        f"Verdict: <strong>{verdict}</strong>.</p>"
        f"{''.join(_section(check) for check in result.checks)}</body></html>"
    )
