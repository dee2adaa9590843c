"""What a crawl run captured, seed by seed: the rows behind the crawl's summary table."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.roles import PAGE, REQUISITE
from crawler.store.models import Capture


@dataclass(frozen=True)
class SeedOutcome:
    """The end of a seed page's redirect chain in one run, and its requisites."""

    seed_id: str | None
    requested_url: str
    final: Capture | None
    chain: tuple[Capture, ...]
    requisites_ok: int
    requisites_failed: int

    @property
    def captured(self) -> bool:
        return self.final is not None and self.final.status is not None and (
            200 <= self.final.status < 300
        )

    @property
    def status_text(self) -> str:
        if self.final is None:
            return "not fetched"
        if self.final.status is None:
            return self.final.error or "failed"
        return str(self.final.status)


def seed_outcomes(session: Session, run_id: int) -> list[SeedOutcome]:
    captures = session.scalars(
        select(Capture).where(Capture.run_id == run_id).order_by(Capture.id)
    ).all()
    pages: dict[str, list[Capture]] = {}
    requisites: dict[str | None, list[Capture]] = {}
    for cap in captures:
        if cap.role == PAGE:
            pages.setdefault(cap.requested_url, []).append(cap)
        elif cap.role == REQUISITE:
            requisites.setdefault(cap.seed_id, []).append(cap)
    outcomes = []
    for requested, chain in pages.items():
        final = chain[-1]
        seed_id = final.seed_id
        reqs = requisites.get(seed_id, []) if seed_id else []
        ok = sum(1 for c in reqs if c.status is not None and c.status < 400)
        outcomes.append(
            SeedOutcome(seed_id, requested, final, tuple(chain), ok, len(reqs) - ok)
        )
    return sorted(outcomes, key=lambda o: (o.seed_id is None, o.seed_id or "", o.requested_url))


def run_failures(session: Session, run_id: int) -> list[Capture]:
    """Every fetch of the run that got no response or an HTTP error status."""
    return list(
        session.scalars(
            select(Capture).where(
                Capture.run_id == run_id,
                (Capture.status.is_(None)) | (Capture.status >= 400),
            ).order_by(Capture.id)
        )
    )
