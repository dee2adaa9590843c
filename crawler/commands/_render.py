"""Tables the commands print (rich): the crawl summary and the capture list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crawler.capture.summary import SeedOutcome
from crawler.store.models import Capture

if TYPE_CHECKING:  # the comparison's imports (lxml, trafilatura) only where it runs
    from crawler.capture.job import JobResult, RunSummary
    from crawler.compare.recorded import SeedResult

#: how each flag severity is shown
SEVERITY_STYLE = {"info": "cyan", "warning": "yellow", "critical": "bold red"}


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return str(n)


def warc_place(cap: Capture) -> str:
    if cap.warc_file is None:
        return "-"
    offset = cap.response_offset if cap.response_offset is not None else cap.metadata_offset
    return f"{cap.warc_file.name}:{offset}"


def summary_table(outcomes: Sequence[SeedOutcome], *, title: str,
                  flags: dict[str, str] | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("seed", "HTTP", "final URL", "bytes", "SHA-256", "WARC file", "requisites"):
        table.add_column(col, overflow="fold")
    if flags is not None:
        table.add_column("flags", overflow="fold")
    for o in outcomes:
        cap = o.final
        status = o.status_text
        style = "green" if o.captured else "red"
        row = [
            o.seed_id or "(ad hoc)",
            f"[{style}]{status}[/]",
            escape(cap.url if cap else o.requested_url),
            human_bytes(cap.payload_length if cap else None),
            (cap.payload_sha256 or "-")[:12] if cap else "-",
            cap.warc_file.name if cap and cap.warc_file else "-",
            f"{o.requisites_ok} ok" + (f", [red]{o.requisites_failed} failed[/]"
                                        if o.requisites_failed else ""),
        ]
        if flags is not None:
            row.append(flags.get(o.seed_id or "", ""))
        table.add_row(*row)
    return table


def captures_table(captures: Sequence[Capture], *, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("id", "run", "seed", "hops", "HTTP", "URL", "fetched (UTC)", "bytes",
                "SHA-256", "WARC file:offset"):
        table.add_column(col, overflow="fold")
    for cap in captures:
        table.add_row(
            str(cap.id), str(cap.run_id), cap.seed_id or "-", str(cap.hops),
            str(cap.status) if cap.status is not None else f"[red]{escape(cap.error or '')}[/]",
            escape(cap.url), cap.fetched_at.strftime("%Y-%m-%d %H:%M:%S.%f"),
            human_bytes(cap.payload_length), (cap.payload_sha256 or "-")[:12], warc_place(cap),
        )
    return table


def print_table(console: Console, table: Table) -> None:
    console.print(table, soft_wrap=False)


def flags_column(results: Sequence[SeedResult]) -> dict[str, str]:
    """Rich markup per seed for the crawl summary's flags column."""
    out = {}
    for r in results:
        if r.comparison is None:
            out[r.seed.id] = f"[dim]{r.problem or 'not compared'}[/]"
        else:
            out[r.seed.id] = ", ".join(f"[{SEVERITY_STYLE[f.severity]}]{f.kind}[/]"
                                       for f in r.comparison.flags) or "[green]none[/]"
    return out


def run_summary_printer(out: Console, err: Console) -> Callable[[RunSummary], None]:
    """Shows a crawl job's summary table (crawler.capture.job) and its failed fetches."""
    def show(summary: RunSummary) -> None:
        if summary.comparison_problem:
            err.print(f"[yellow]comparison skipped:[/] {summary.comparison_problem}",
                      highlight=False)
        flags = flags_column(summary.compared) if summary.compared is not None else None
        print_table(out, summary_table(summary.outcomes, title=f"crawl run {summary.run_id}",
                                       flags=flags))
        for cap in summary.failures:
            out.print(f"  failed: {cap.url} — {cap.error or cap.status}", highlight=False)
    return show


def print_job(out: Console, err: Console, result: JobResult) -> None:
    """What a crawl job did after its summary: head, flags recorded, the index."""
    out.print(f"ledger head: {result.ledger_head}")
    if result.flags_recorded:
        out.print(f"{result.flags_recorded} flag(s) recorded (`crawler compare` for evidence, "
                  "`crawler report` for the report)", highlight=False)
    if result.index is not None:
        out.print(f"index: {result.index.path} ({result.index.lines} lines)", highlight=False)
    else:
        err.print(f"[red]index not updated:[/] {result.index_problem}", highlight=False)
