"""The replay as a page an auditor can keep: a summary table and a timeline of the group's decisions."""

from __future__ import annotations

from datetime import datetime
from html import escape

from shared.audit.replay import ReplayResult

COLOURS = {"passed": "#2e7d32", "chosen": "#1565c0", "rejected": "#9e9e9e", "blocked": "#c62828",
           "no_quorum": "#ef6c00", "tie": "#6a1b9a"}


def _timeline(entries: list[dict[str, object]]) -> str:
    if not entries:
        return "<p>No decisions were closed in this period.</p>"
    spans = [(datetime.fromisoformat(str(e["start"])), datetime.fromisoformat(str(e["end"])), e) for e in entries]
    first = min(s for s, _, _ in spans)
    last = max(e for _, e, _ in spans)
    width, left, row = 900, 260, 22
    scale = (width - left - 10) / max((last - first).total_seconds(), 1.0)
    rows = []
    for n, (start, end, entry) in enumerate(sorted(spans, key=lambda s: s[0])):
        x = left + (start - first).total_seconds() * scale
        w = max(3.0, (end - start).total_seconds() * scale)
        y = 10 + n * row
        colour = COLOURS.get(str(entry["result"]), "#455a64")
        label = escape(str(entry["label"])[:40])
        rows.append(
            f'<text x="4" y="{y + 14}" font-size="12">{label}</text>'
            f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="14" fill="{colour}">'
            f'<title>{label}: {escape(str(entry["kind"]))}, {escape(str(entry["result"]))}</title></rect>'
        )
    height = 20 + len(spans) * row
    legend = " ".join(f'<span style="color:{c}">&#9632; {r}</span>' for r, c in COLOURS.items())
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="timeline of decisions">{"".join(rows)}</svg><p>{legend}</p>'
            f"<p>{escape(first.isoformat())} to {escape(last.isoformat())}</p>")


def _caused(entry: dict[str, object]) -> list[str]:
    found = entry.get("caused")
    return [str(c) for c in found] if isinstance(found, list) else []


def _effects(entries: list[dict[str, object]]) -> str:
    """Each decision beside what it caused in the log (a meeting scheduled, an item published)."""
    rows = "".join(
        f"<tr><td>{escape(str(e['label']))}</td><td>{escape(str(e['result']))}</td>"
        f"<td>{escape(', '.join(_caused(e)) or 'nothing recorded')}</td></tr>"
        for e in entries
    )
    return ("<table><caption>What each decision caused</caption><tr><th>decision</th><th>result</th>"
            f"<th>caused</th></tr>{rows}</table>") if rows else ""


def html_report(result: ReplayResult) -> str:
    sections = []
    for check in result.checks:
        counts = "".join(f"<tr><td>{escape(k)}</td><td>{v:,}</td></tr>" for k, v in check.counts.items())
        counts += f"<tr><td>mismatches</td><td>{len(check.mismatches):,}</td></tr>"
        mismatches = "".join(
            f"<li>position {m.position}, {escape(m.stream_id)}: {escape(m.detail)}</li>" for m in check.mismatches)
        sections.append(f"<h2>{escape(check.name)}</h2><table>{counts}</table>"
                        f"{'<ul>' + mismatches + '</ul>' if mismatches else ''}{_timeline(check.timeline)}"
                        f"{_effects(check.timeline)}")
    verdict = "every recorded outcome recomputes identically" if result.ok else "MISMATCHES FOUND"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>copro replay</title>"
        "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto}td{padding:2px 12px}</style></head>"
        f"<body><h1>copro replay up to position {result.until:,}</h1>"
        f"<p>{result.events:,} events replayed; read models rebuilt in schema <code>{escape(result.schema)}</code>: "
        f"{escape(', '.join(sorted(result.tables)))}. Verdict: <strong>{verdict}</strong>.</p>"
        f"{''.join(sections)}</body></html>"
    )
