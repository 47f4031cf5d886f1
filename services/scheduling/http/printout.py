"""The table plan on paper: a print-ready HTML document and an SVG room map, drawn from ``sheets.py``.

The document is what a facilitator prints on the day: an overview of every table (its mix of perspectives,
what it offers, the access needs seated there), an alphabetical index for the welcome desk, then one A4
page per table in natural order, to lay on the table itself, with each seat's number, name, organisation,
perspective and access needs in large type. A perspective is always written out and drawn with a pattern
(stripes, dots, cross-hatch, plain) as well as a colour, so a black-and-white printout and a reader who
cannot tell the colours apart lose nothing; every page repeats the legend. Nothing is loaded from
elsewhere: the styles and figures are inline, so the page prints the same offline.
"""

from __future__ import annotations

from html import escape
from math import cos, pi, sin

from services.scheduling.domain.gathering import Gathering
from services.scheduling.http.sheets import (
    PERSPECTIVES,
    SYMBOLS,
    TableSheet,
    as_of,
    label,
    natural,
    table_sheets,
    unseated,
    when,
)

# pattern id, colour (Okabe-Ito, distinct for colour-blind readers), and the pattern's marks
PATTERNS = {
    "lived_experience": ("#f3c677", '<path d="M-2,2 l4,-4 M0,10 l10,-10 M8,12 l4,-4" stroke="#000" stroke-width="2"/>'),
    "service_provider": ("#a6d8f5", '<circle cx="5" cy="5" r="2.2" fill="#000"/>'),
    "both": ("#8fd5bd", '<path d="M0,0 l10,10 M10,0 l-10,10" stroke="#000" stroke-width="1.5"/>'),
    "other": ("#e7c9dd", '<path d="M0,2.5 h10 M0,7.5 h10" stroke="#000" stroke-width="1.5"/>'),
}


SHORT = {"lived_experience": "Lived", "service_provider": "Provider", "both": "Both", "other": "Other"}
"""Column heads of the overview; the legend below it spells each one out."""


def _defs() -> str:
    patterns = "".join(
        f'<pattern id="p-{key}" width="10" height="10" patternUnits="userSpaceOnUse">'
        f'<rect width="10" height="10" fill="{colour}"/>{marks}</pattern>' for key, (colour, marks) in PATTERNS.items())
    return f"<defs>{patterns}</defs>"


def _fill(perspective: str) -> str:
    return f"url(#p-{perspective})" if perspective in PATTERNS else "#ffffff"


def swatch(perspective: str, size: int = 26) -> str:
    """A small patterned disc with the perspective's letter: never the colour alone."""
    r = size / 2
    return (f'<svg class="swatch" width="{size}" height="{size}" viewBox="0 0 {size} {size}" aria-hidden="true">'
            f'<circle cx="{r}" cy="{r}" r="{r - 1.5}" fill="{_fill(perspective)}" stroke="#000" stroke-width="1.5"/>'
            f'<circle cx="{r}" cy="{r}" r="{r * 0.5}" fill="#fff"/>'
            f'<text x="{r}" y="{r + r * 0.36}" text-anchor="middle" font-size="{r}" font-weight="700" '
            f'font-family="Verdana, DejaVu Sans, sans-serif">{SYMBOLS.get(perspective, "?")}</text></svg>')


def table_figure(sheet: TableSheet, x: float, y: float, radius: float = 68) -> str:
    """A round table seen from above: its name in the middle, each seat numbered, patterned by perspective."""
    parts = [f'<circle cx="{x}" cy="{y}" r="{radius}" fill="#fff" stroke="#000" stroke-width="3"/>',
             f'<text x="{x}" y="{y + 9}" text-anchor="middle" font-size="26" font-weight="700">'
             f"{escape(sheet.table_id)}</text>"]
    count = max(sheet.size, len(sheet.seats), 1)
    for n in range(count):
        angle = -pi / 2 + 2 * pi * n / count
        sx, sy = x + (radius + 38) * cos(angle), y + (radius + 38) * sin(angle)
        if n < len(sheet.seats):
            seat = sheet.seats[n]
            parts.append(f'<circle cx="{sx:.1f}" cy="{sy:.1f}" r="31" fill="{_fill(seat.perspective)}" stroke="#000" '
                         f'stroke-width="2.5"/><circle cx="{sx:.1f}" cy="{sy:.1f}" r="17" fill="#fff"/>'
                         f'<text x="{sx:.1f}" y="{sy + 7.5:.1f}" text-anchor="middle" font-size="21" font-weight="700">'
                         f"{seat.number}</text>")
        else:  # an empty chair
            parts.append(f'<circle cx="{sx:.1f}" cy="{sy:.1f}" r="31" fill="#fff" stroke="#000" stroke-width="2" '
                         f'stroke-dasharray="5 5"/><text x="{sx:.1f}" y="{sy + 5:.1f}" text-anchor="middle" '
                         f'font-size="13">empty</text>')
    return "".join(parts)


def _figure(sheet: TableSheet) -> str:
    side = 2 * (68 + 38 + 33)
    title = f"{sheet.table_id}: {len(sheet.seats)} of {sheet.size} seats taken"
    return (f'<svg class="figure" width="{side}" height="{side}" viewBox="0 0 {side} {side}" role="img" '
            f'aria-label="{escape(title)}">{table_figure(sheet, side / 2, side / 2)}</svg>')


def legend() -> str:
    items = "".join(f"<li>{swatch(key)} {escape(text)}</li>" for key, text in PERSPECTIVES.items())
    return (f'<div class="legend"><p><strong>Perspectives</strong> (letter, pattern and colour say the same)</p>'
            f"<ul>{items}</ul></div>")


def _features(sheet: TableSheet) -> str:
    return ", ".join(escape(label(f)) for f in sheet.features) or "No special features"


WITHHELD = "for facilitators"
"""What a needs cell says to a reader who may not see access needs (``sees_private``): not "none"."""


def _overview(g: Gathering, sheets: list[TableSheet], time_zone: str, nothing: str) -> str:
    assert g.planned is not None
    seated = sum(len(s.seats) for s in sheets)
    rows = []
    for sheet in sheets:
        mix = "".join(f'<td class="num">{n}</td>' for n in sheet.mix().values())
        needs = ", ".join(f"{escape(label(n))} ({sum(n in s.needs for s in sheet.seats)})" for n in sheet.needs())
        rows.append(f'<tr><th scope="row"><a href="#{_anchor(sheet)}">{escape(sheet.table_id)}</a></th>'
                    f'<td class="num">{len(sheet.seats)} of {sheet.size}</td>{mix}'
                    f"<td>{', '.join(escape(label(f)) for f in sheet.features) or '&ndash;'}</td>"
                    f"<td>{needs or nothing}</td></tr>")
    heads = "".join(f'<th scope="col" class="num" title="{escape(PERSPECTIVES[k])}">{swatch(k, 30)}'
                    f'<span class="small">{short}</span></th>' for k, short in SHORT.items())
    state = "Locked: this is the final plan." if g.seating.locked else "Draft: the plan can still change."
    waiting = unseated(g)
    late = (f'<p class="warning"><strong>Not seated yet</strong> (registered after the plan was made; plan again or '
            f"seat them by hand): {', '.join(escape(n) for n in waiting)}</p>") if waiting else ""
    return f"""<section class="page overview">
<header><p class="kicker">Table plan &middot; facilitator&rsquo;s overview</p><h1>{escape(g.planned.title)}</h1>
<p class="when">{escape(when(g, time_zone))} &middot; {escape(g.planned.venue)}</p></header>
<p class="summary">{seated} people at {len(sheets)} tables. {state} Plan made {escape(as_of(g.seating.planned_at, time_zone))}
({escape(time_zone)}).</p>{late}
<table class="grid"><thead><tr><th scope="col">Table</th><th scope="col" class="num">People</th>{heads}
<th scope="col">Table offers</th><th scope="col">Access needs here</th></tr></thead><tbody>{"".join(rows)}</tbody></table>
{legend()}</section>"""


def _index(sheets: list[TableSheet]) -> str:
    people = sorted(((seat.name, sheet.table_id, seat.number) for sheet in sheets for seat in sheet.seats),
                    key=lambda p: (natural(p[0]), natural(p[1])))
    items = "".join(f'<li><span class="who">{escape(name)}</span> <span class="where">{escape(table)}, seat {seat}'
                    f"</span></li>" for name, table, seat in people)
    return (f'<section class="page index"><p class="kicker">Table plan &middot; welcome desk</p>'
            f"<h2>Who sits where</h2><p>Everyone seated, by name.</p><ol class=\"names\">{items}</ol></section>")


def _anchor(sheet: TableSheet) -> str:
    return "table-" + "".join(c if c.isalnum() else "-" for c in sheet.table_id.lower())


def _table_page(g: Gathering, sheet: TableSheet, time_zone: str, nothing: str) -> str:
    assert g.planned is not None
    rows = "".join(
        f'<tr><td class="seat">{s.number}</td><td><span class="name">{escape(s.name)}</span>'
        f'<span class="org">{escape(s.organisation)}</span></td>'
        f'<td class="perspective">{swatch(s.perspective)} {escape(s.perspective_label)}</td>'
        f"<td class=\"needs\">{', '.join(escape(label(n)) for n in s.needs) or nothing}</td></tr>" for s in sheet.seats)
    empty = sheet.size - len(sheet.seats)
    spare = f'<p class="spare">{empty} empty seat{"s" if empty != 1 else ""} (dashed circles).</p>' if empty > 0 else ""
    return f"""<section class="page table-page" id="{_anchor(sheet)}">
<div class="top"><header><p class="kicker">{escape(g.planned.title)} &middot; {escape(g.planned.venue)}<br>
{escape(when(g, time_zone))}</p><h2>{escape(sheet.table_id)}</h2><p class="features"><span class="badge">{_features(sheet)}
</span></p><p class="count">{len(sheet.seats)} people, {sheet.size} seats</p></header>{_figure(sheet)}</div>
<table class="seats"><thead><tr><th scope="col">Seat</th><th scope="col">Name and organisation</th>
<th scope="col">Perspective</th><th scope="col">Access needs</th></tr></thead><tbody>{rows}</tbody></table>{spare}
{legend()}</section>"""


STYLE = """
@page { size: A4; margin: 14mm; }
* { box-sizing: border-box; }
body { font-family: "Atkinson Hyperlegible", Verdana, "DejaVu Sans", Arial, sans-serif; font-size: 14pt;
  line-height: 1.35; color: #000; background: #e9e9e9; margin: 0; }
.page { background: #fff; max-width: 210mm; margin: 12px auto; padding: 14mm; }
.toolbar { max-width: 210mm; margin: 12px auto 0; padding: 10px 14mm; background: #fff; border: 2px solid #000; }
a { color: #00e; }
h1 { font-size: 30pt; margin: 0 0 4pt; } h2 { font-size: 54pt; margin: 0; line-height: 1.1; }
.index h2 { font-size: 28pt; }
.kicker { font-size: 12pt; text-transform: uppercase; letter-spacing: .06em; margin: 0 0 4pt; }
.when, .features { font-size: 16pt; margin: 2pt 0 10pt; font-weight: 700; }
.features { font-size: 18pt; } .badge { border: 3px solid #000; padding: 1pt 8pt; margin-right: 8pt; }
.summary { font-size: 14pt; }
.warning { border: 3px solid #000; padding: 6pt 10pt; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1.5px solid #000; padding: 5pt 6pt; text-align: left; vertical-align: middle; }
thead th { border-bottom: 3px solid #000; font-size: 12pt; }
.grid td, .grid th { font-size: 12.5pt; padding: 3pt 5pt; } .num { text-align: center; }
.grid thead th.num { width: 8%; } .small { display: block; font-size: 10pt; }
.seats td { font-size: 15pt; padding: 4pt 5pt; line-height: 1.2; }
.seats .name { display: block; font-weight: 700; font-size: 20pt; }
.seats .org { display: block; font-size: 14pt; }
.seats .seat { font-weight: 700; text-align: center; width: 2.2em; font-size: 24pt; }
.seats .perspective { width: 36%; } .seats .needs { width: 20%; font-weight: 700; }
.seats thead th { font-size: 12pt; }
.top { display: flex; justify-content: space-between; align-items: center; gap: 6mm; margin-bottom: 4pt; }
.table-page .legend { margin-top: 8pt; }
.top .figure { flex: 0 0 auto; } .count { font-size: 16pt; margin: 0; }
.perspective .swatch { vertical-align: -6px; }
.figure text { font-family: Verdana, "DejaVu Sans", sans-serif; }
.spare { font-size: 13pt; }
.legend { margin-top: 12pt; border-top: 1.5px solid #000; padding-top: 6pt; font-size: 12pt; }
.legend p { margin: 0 0 4pt; }
.legend ul { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 4pt 18pt; }
.legend .swatch { vertical-align: -7px; }
.names { columns: 2; column-gap: 12mm; padding: 0; list-style: none; font-size: 14pt; }
.names li { break-inside: avoid; padding: 3pt 0; border-bottom: 1px solid #999; display: flex;
  justify-content: space-between; gap: 8pt; }
.names .who { font-weight: 700; flex: 1 1 auto; min-width: 0; overflow-wrap: anywhere; }
.names .where { white-space: nowrap; flex: 0 0 auto; }
.defs { position: absolute; width: 0; height: 0; overflow: hidden; }
.grid th[scope=row] { white-space: nowrap; }
@media print {
  body { background: #fff; }
  .page { margin: 0; padding: 0; max-width: none; break-after: page; }
  .page:last-of-type { break-after: auto; }
  .toolbar { display: none; }
  tr, .top, .legend { break-inside: avoid; }
  a { color: #000; text-decoration: none; }
}
"""


def printable_plan(g: Gathering, time_zone: str, csv_href: str, needs_shown: bool = True) -> str:
    """The whole document: overview, index, a page per table. Without ``needs_shown`` (``g`` carries no
    access needs for this reader) each needs cell says they are for facilitators, not that there are none."""
    assert g.planned is not None
    sheets = table_sheets(g)
    nothing = "&ndash;" if needs_shown else WITHHELD
    pages = "".join(_table_page(g, sheet, time_zone, nothing) for sheet in sheets)
    return f"""<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Table plan: {escape(g.planned.title)}</title><style>{STYLE}</style></head>
<body><svg class="defs" aria-hidden="true" focusable="false">{_defs()}</svg>
<div class="toolbar"><p>Print this with your browser (Ctrl+P or &#8984;P) on A4: an overview, an index by name, then one
page per table to lay on it. <a href="{escape(csv_href)}">The same plan as a spreadsheet (CSV)</a> for a mail merge or
name cards.</p></div>
<main>{_overview(g, sheets, time_zone, nothing)}{_index(sheets)}{pages}</main></body></html>"""


def _short(name: str, limit: int = 30) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "\u2026"


def room_map(g: Gathering) -> str:
    """Every table in natural order, four to a row, with its seats and the names in seat order, and the legend;
    for the whole plan on one sheet (the printable page has every detail)."""
    sheets, columns, width = table_sheets(g), 4, 340
    height = 330 + 17 * min(max((len(s.seats) for s in sheets), default=0), 14)
    parts = []
    for n, sheet in enumerate(sheets):
        x, y = width * (n % columns) + width / 2, 60 + height * (n // columns) + 140
        parts.append(table_figure(sheet, x, y))
        parts.append(f'<text x="{x}" y="{y + 165}" text-anchor="middle" font-size="15" font-weight="700">'
                     f"{escape(_features(sheet))}</text>")
        for k, seat in enumerate(sheet.seats[:14]):
            parts.append(f'<text x="{x - 135}" y="{y + 188 + 17 * k}" font-size="14">{seat.number} '
                         f"{escape(_short(seat.name))} ({SYMBOLS.get(seat.perspective, '?')})</text>")
    rows = (len(sheets) + columns - 1) // columns
    total = 60 + height * max(rows, 1) + 50
    keys = "".join(f'<circle cx="{24 + 340 * i}" cy="{total - 30}" r="14" fill="{_fill(k)}" stroke="#000"/>'
                   f'<text x="{44 + 340 * i}" y="{total - 25}" font-size="15">{SYMBOLS[k]}: {escape(v)}</text>'
                   for i, (k, v) in enumerate(PERSPECTIVES.items()))
    title = escape(g.planned.title if g.planned else "Table plan")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{columns * width}" height="{total}" role="img" '
            f'aria-label="Table plan: {title}" font-family="Verdana, DejaVu Sans, sans-serif">{_defs()}'
            f'<rect width="100%" height="100%" fill="#fff"/><text x="10" y="36" font-size="24" font-weight="700">'
            f"Table plan: {title}</text>{''.join(parts)}{keys}</svg>")
