"""HTML of the comparison report: the index of seeds and one page per seed.

Static pages that open from disk: no script, no external resource, a Content-Security-
Policy that forbids scripts anyway, and every archived or copied text passed through
`html.escape` (a page or copy holding `<script>` or `onerror=` shows it as text).
No settings are read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from html import escape

from crawler.compare.align import Row
from crawler.compare.flags import Flag
from crawler.compare.text import word_diff

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"
STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1200px;color:#222;
padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ddd;padding:.35em .5em;
vertical-align:top;text-align:left}th{background:#f4f4f4}
.badge{display:inline-block;border-radius:.7em;padding:.05em .6em;margin:.1em;font-size:.85em;
white-space:nowrap}
.info{background:#e3f0fb;color:#0b4a7a}.warning{background:#fff0c2;color:#6b4e00}
.critical{background:#fbd5d5;color:#8a1010}.none{background:#dff5e1;color:#1d5e25}
.meta td:first-child{width:14em;color:#555}
.evidence{margin:.2em 0 1em 1.2em}.evidence li{margin:.2em 0}
.where{color:#666;font-size:.9em}.q{font-family:ui-monospace,monospace;font-size:.9em;
white-space:pre-wrap;word-break:break-word}
.diff td{width:50%}.diff td.n{width:3em;color:#888;text-align:right}
tr.same td{background:#fff}tr.changed td{background:#fff8e1}tr.removed td{background:#fdecec}
tr.added td{background:#e9f7ec}tr.chrome td,tr.meta td,tr.date td,tr.other td{color:#888;
background:#fafafa}tr.artifact td{background:#f3e8fd}tr.headline td{font-weight:600}
del{background:#f8c9c9;text-decoration:line-through}ins{background:#bfe8c6;text-decoration:none}
.status{font-size:.8em;color:#666}
"""


def page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n"
        "</body>\n</html>\n"
    )


def badges(flags: Sequence[Flag]) -> str:
    if not flags:
        return '<span class="badge none">no flags</span>'
    return "".join(f'<span class="badge {f.severity}" title="{escape(f.message)}">'
                   f"{escape(f.kind)}</span>" for f in flags)


def meta_table(rows: Iterable[tuple[str, object]]) -> str:
    cells = "".join(f"<tr><td>{escape(k)}</td><td class=\"q\">{escape(str(v))}</td></tr>"
                    for k, v in rows if v not in (None, ""))
    return f'<table class="meta">{cells}</table>'


def flags_section(flags: Sequence[Flag]) -> str:
    if not flags:
        return "<p>No flags: the capture matches the seed copy.</p>"
    items = []
    for f in flags:
        evidence = "".join(
            f'<li><b>{escape(e.source)}</b> <span class="where">{escape(e.where)}</span>: '
            f'<span class="q">{escape(e.text)}</span></li>' for e in f.evidence)
        items.append(f'<li><span class="badge {f.severity}">{escape(f.severity)}</span> '
                     f"<b>{escape(f.kind)}</b> — {escape(f.message)}"
                     f'<ul class="evidence">{evidence}</ul></li>')
    return f'<ol class="flags">{"".join(items)}</ol>'


def _diff_cells(seed: str, live: str) -> tuple[str, str]:
    left, right = [], []
    for op, a, b in word_diff(seed, live):
        if op == "equal":
            left.append(escape(a))
            right.append(escape(b))
        else:
            if a:
                left.append(f"<del>{escape(a)}</del>")
            if b:
                right.append(f"<ins>{escape(b)}</ins>")
    return " ".join(left), " ".join(right)


def diff_table(rows: Sequence[Row]) -> str:
    out = ['<table class="diff"><tr><th>line</th><th>seed copy</th><th>live article</th></tr>']
    for r in rows:
        seed, live = escape(r.seed_text or ""), escape(r.live_text or "")
        if r.status == "changed":
            seed, live = _diff_cells(r.seed_text or "", r.live_text or "")
        elif r.status not in ("same", "added", "removed"):
            note = f" ({r.note})" if r.note else ""
            live = f'<span class="status">{escape(r.status)}{escape(note)}</span>'
        elif r.status == "removed":
            live = '<span class="status">not on the live page</span>'
        line = str(r.seed_line) if r.seed_line is not None else ""
        out.append(f'<tr class="{escape(r.status)}"><td class="n">{line}</td>'
                   f'<td class="q">{seed}</td><td class="q">{live}</td></tr>')
    out.append("</table>")
    return "\n".join(out)


def footer(version: str, now: dt.datetime) -> str:
    return (f'<p class="where">Written by provenance-crawler {escape(version)} at '
            f"{escape(now.isoformat(timespec='seconds'))}. Static page: no scripts.</p>")
