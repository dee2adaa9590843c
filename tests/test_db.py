"""Schema revisions: the head read-only commands check against is Alembic's own."""

from __future__ import annotations

from pathlib import Path

from crawler.db import (
    SCHEMA_HEAD,
    alembic_head_revision,
    current_revision,
    make_engine,
    open_database,
)


def test_schema_head_is_alembics_head() -> None:
    """SCHEMA_HEAD spares read-only commands an Alembic import: a new migration must
    move it too, or every command would call the upgraded schema out of date."""
    assert alembic_head_revision() == SCHEMA_HEAD


def test_current_revision_of_new_and_upgraded_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert current_revision(make_engine(url)) is None
    open_database(url)
    assert current_revision(make_engine(url)) == SCHEMA_HEAD
