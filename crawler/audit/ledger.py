"""The ledger part of `crawler verify`: chain, rows, run heads, signatures, expected head.

Recomputes the whole chain (crawler.store.ledger.walk_chain) and every row's canonical
serialisation against its newest entry (crawler.store.ledger.check_rows, which reads
column values rather than ORM objects), checks that each
run's recorded head is in the chain as that run's closing entry, checks signed heads
with a public key (crawler.store.signing), and looks for a head the auditor brought
(`--expect-head`).
The chain is always checked whole, even for one run: it is one chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.audit.report import LedgerFindings
from crawler.store import ledger
from crawler.store.models import CrawlRun, LedgerEntry

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

LIMITS = (
    "The ledger chain only shows that the database agrees with itself: whoever can write "
    "to the database can rewrite rows and recompute every hash after them. It proves that "
    "nothing recorded before a head was changed only for a head kept outside the database "
    "— give a published head with --expect-head, or check signed heads with --public-key."
)


def check_ledger(session: Session, runs: Sequence[CrawlRun], *, expect_head: str | None,
                 public_key: Ed25519PublicKey | None) -> LedgerFindings:
    report = LedgerFindings()
    wanted = {run.ledger_head for run in runs if run.ledger_head}
    if expect_head:
        wanted.add(expect_head)
    walk = ledger.walk_chain(session, wanted=wanted, newest=True)
    report.entries, report.head = walk.entries, walk.head
    for issue in walk.issues:
        report.add(issue.kind, f"ledger entry seq {issue.seq} ({issue.table} row "
                   f"{issue.row_id}): {issue.message}")
    for issue in ledger.check_rows(session, walk=walk):
        capture_id = int(issue.row_id) if issue.table == "captures" and issue.row_id else None
        report.add(issue.kind, f"{issue.table} row {issue.row_id}: {issue.message}",
                   capture_id=capture_id)
    _check_runs(session, runs, walk, report, public_key)
    if expect_head:
        where = walk.found.get(expect_head)
        if where is None:
            report.add("head-not-found", f"the expected head {expect_head} is not in the ledger "
                       "chain: entries up to it were removed or rewritten (or it belongs to "
                       "another database)")
        else:
            report.expected_head_seq = where[0]
            later = session.scalar(select(func.count()).where(LedgerEntry.seq > where[0])) or 0
            report.notes.append(f"the expected head is entry seq {where[0]}; {later} entries "
                                "were appended after it")
    if not expect_head and not report.signatures_checked:
        report.notes.append(LIMITS)
    return report


def _check_runs(session: Session, runs: Sequence[CrawlRun], walk: ledger.ChainWalk,
                report: LedgerFindings, public_key: Ed25519PublicKey | None) -> None:
    for run in runs:
        if not run.ledger_head:
            report.add("run-head", f"crawl run {run.id} ({run.status}) has no ledger head: it "
                       "did not finish")
            continue
        where = walk.found.get(run.ledger_head)
        if where is None:
            report.add("run-head", f"crawl run {run.id}: its ledger head {run.ledger_head} is "
                       "not in the chain")
        elif where[1:] != ("crawl_runs", str(run.id)):
            report.add("run-head", f"crawl run {run.id}: its ledger head is entry seq {where[0]} "
                       f"of {where[1]} row {where[2]}, not the run's own closing entry")
        if run.head_signature is None:
            if public_key is not None:
                report.add("signature", f"crawl run {run.id}: the head is not signed")
            continue
        if public_key is None:
            report.signatures_unchecked += 1
            continue
        from crawler.store.signing import check_head_signature  # cryptography: only with a key

        problem = check_head_signature(public_key, run.head_signature, run_uuid=run.uuid,
                                       head=run.ledger_head)
        report.signatures_checked += 1
        if problem:
            report.add("signature", f"crawl run {run.id}: {problem}")
    if public_key is not None and report.signatures_checked:
        from crawler.store.signing import key_id

        report.notes.append(f"signed heads checked with public key {key_id(public_key)}")
    if report.signatures_unchecked:
        report.notes.append(f"{report.signatures_unchecked} signed heads not checked: give "
                            "--public-key FILE")
