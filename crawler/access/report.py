"""Write the comparison report: `index.html` (every seed, its capture and its flags as
coloured badges) and one page per seed (capture metadata with WARC file, record id and
SHA-256; the flags with their evidence; a side-by-side, paragraph-aligned diff of the
seed copy and the live text). Static HTML, escaped, opens from disk with no server.
The comparisons come from crawler.compare.recorded (captures read back from the WARC).
No settings are read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from html import escape
from pathlib import Path

from crawler import __version__
from crawler.access.report_html import badges, diff_table, flags_section, footer, meta_table, page
from crawler.compare.recorded import SeedResult
from crawler.errors import BadInput


def seed_page_name(seed_id: str) -> str:
    return "seed-" + re.sub(r"[^A-Za-z0-9._-]", "_", seed_id) + ".html"


def _index(results: Sequence[SeedResult], *, title: str, now: dt.datetime) -> str:
    rows = []
    for r in results:
        cap = r.capture
        flags = r.comparison.flags if r.comparison else ()
        status = (str(cap.status) if cap and cap.status is not None
                  else (cap.error or "failed") if cap else "not captured")
        rows.append(
            f'<tr><td><a href="{escape(seed_page_name(r.seed.id))}">{escape(r.seed.id)}</a></td>'
            f"<td>{escape(r.seed.outlet)}</td><td class=\"q\">{escape(r.seed.url)}</td>"
            f"<td>{escape(cap.fetched_at.isoformat(timespec='seconds')) if cap else '-'}</td>"
            f"<td>{escape(status)}</td>"
            f"<td>{badges(flags) if r.comparison else escape(r.problem or '')}</td></tr>")
    body = (f"<h1>{escape(title)}</h1>"
            "<p>Each seed's latest capture compared with its seed copy.</p>"
            "<table><tr><th>seed</th><th>outlet</th><th>URL</th><th>captured (UTC)</th>"
            f"<th>HTTP</th><th>flags</th></tr>{''.join(rows)}</table>"
            + footer(__version__, now))
    return page(title, body)


def _seed_page(r: SeedResult, *, now: dt.datetime) -> str:
    title = f"Seed {r.seed.id} — {r.seed.outlet}"
    cap, comp = r.capture, r.comparison
    parts = [f'<p><a href="index.html">← all seeds</a></p><h1>{escape(title)}</h1>']
    parts.append("<h2>Capture</h2>")
    if cap is not None:
        chain = comp.fetch.chain if comp and comp.fetch else ()
        parts.append(meta_table([
            ("seed URL", r.seed.url), ("requested URL", cap.requested_url),
            ("redirects", " → ".join(f"{u} ({s})" for u, s in chain) if len(chain) > 1 else None),
            ("final URL", cap.url), ("HTTP status", cap.status), ("error", cap.error),
            ("fetched (UTC)", cap.fetched_at.isoformat()), ("crawl run", cap.run_id),
            ("capture id", cap.id), ("WARC file", cap.warc_file.name if cap.warc_file else None),
            ("WARC record id", cap.warc_record_id), ("record offset", cap.response_offset),
            ("payload SHA-256", cap.payload_sha256), ("content type", cap.content_type),
        ]))
    else:
        parts.append(f"<p>{escape(r.problem or 'no capture')}</p>")
    if comp is not None:
        live = comp.live
        parts.append("<h2>Seed copy and live page</h2>")
        parts.append(meta_table([
            ("seed copy", comp.copy.path.name if comp.copy.path else None),
            ("seed copy SHA-256", comp.copy.sha256),
            ("copy headline", f"line {comp.headline[0]}: {comp.headline[1]}"
             if comp.headline else None),
            ("copy dates", "; ".join(f"line {d.line}: {d.text} ({d.role})" for d in comp.dates
                                     if d.role != "chrome") or None),
            ("live headline", f"{live.title.value} ({live.title.where})"
             if live and live.title else None),
            ("live published", f"{live.published.value} ({live.published.where})"
             if live and live.published else None),
            ("live modified", f"{live.modified.value} ({live.modified.where})"
             if live and live.modified else None),
            ("live author", live.author.value if live and live.author else None),
            ("canonical URL", live.canonical if live else None),
        ]))
        parts.append("<h2>Flags</h2>" + flags_section(comp.flags))
        parts.append("<h2>Seed copy beside the live article</h2>"
                     "<p>Aligned by paragraph; page chrome, bylines and dates of the copy are "
                     "greyed with what they are.</p>" + diff_table(comp.rows))
    parts.append(footer(__version__, now))
    return page(title, "\n".join(parts))


def write_report(results: Sequence[SeedResult], out_dir: Path, *, title: str,
                 now: dt.datetime | None = None) -> list[Path]:
    """Write index.html and a page per seed into `out_dir`; returns the files written."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"report folder {out_dir}: cannot be created ({exc.strerror})") from None
    written = []
    for r in results:
        path = out_dir / seed_page_name(r.seed.id)
        path.write_text(_seed_page(r, now=now), encoding="utf-8")
        written.append(path)
    index = out_dir / "index.html"
    index.write_text(_index(results, title=title, now=now), encoding="utf-8")
    return [index, *written]
