"""The crawler's exception hierarchy and the exit codes they map to.

0 — all is well; 1 — problems were found (failed fetches, integrity problems);
2 — bad input or configuration (nothing was fetched or written).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_BAD_INPUT = 2


class CrawlerError(Exception):
    """Base class of every error this package raises on purpose."""

    exit_code = EXIT_PROBLEMS


class BadInput(CrawlerError):
    """Input or configuration that cannot be used: nothing was done."""

    exit_code = EXIT_BAD_INPUT


class ManifestError(BadInput):
    """A seed manifest that cannot be used; the message names file, seed and problem."""

    def __init__(self, path: object, problem: str, *, seed: str | None = None) -> None:
        where = f"{path}" + (f", seed {seed}" if seed else "")
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.seed = seed
        self.problem = problem


class CollectionError(BadInput):
    """A collection folder that is missing or malformed."""


class DatabaseError(BadInput):
    """The provenance database cannot be reached or has the wrong schema."""


class SeedConflict(BadInput):
    """A seed differs from the seed on record (URL or seed copy changed)."""


class ArchiveError(CrawlerError):
    """Writing the archive failed: the crawl stops rather than lose bytes."""


class IntegrityError(CrawlerError):
    """Recorded provenance and archived bytes disagree."""
