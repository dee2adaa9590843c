"""The package's architecture holds: layers import only downwards, no package has an
import cycle among its modules, and the WARC writer process and the WARC layer stay
free of Scrapy and SQLAlchemy (pyproject.toml's [tool.importlinter] contracts).

import-linter reads every import statement, those inside functions and under
TYPE_CHECKING included. The checker is itself checked: on a copy of the package with
a cycle, or with an upward import, added, it must fail and name the broken contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = "crawler's layers: a package imports only from the layers below it"
CYCLES = "no import cycles between the modules of any package"
WRITER = "the WARC layer and the WARC writer process import neither Scrapy nor SQLAlchemy"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """import-linter over the packages in `root`, with `root`'s pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(root)}  # the copy's packages, not the checkout's
    return subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
         str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120)


def _broken(result: subprocess.CompletedProcess[str]) -> set[str]:
    return {line.removesuffix(" BROKEN") for line in result.stdout.splitlines()
            if line.endswith(" BROKEN")}


def test_the_package_keeps_its_contracts() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    for name in ("crawler", "spiders"):
        shutil.copytree(REPO / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__", "fixture_site"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_a_cycle_breaks_the_contract(package_copy: Path) -> None:
    # crawler.audit.verify imports crawler.audit.ledger; a lazy import back closes a cycle
    _append(package_copy / "crawler/audit/ledger.py",
            "def _back() -> None:\n    from crawler.audit import verify  # noqa: F401")
    result = lint_imports(package_copy)
    assert result.returncode != 0
    assert _broken(result) == {CYCLES}, result.stdout


def test_an_upward_import_breaks_the_contract(package_copy: Path) -> None:
    _append(package_copy / "crawler/store/db.py",
            "if False:\n    from crawler.compare import recorded  # noqa: F401")
    result = lint_imports(package_copy)
    assert result.returncode != 0
    assert LAYERS in _broken(result), result.stdout  # and a cycle of packages, too
    assert "crawler.store is not allowed to import crawler.compare" in result.stdout


def test_scrapy_in_the_writer_process_breaks_the_contract(package_copy: Path) -> None:
    _append(package_copy / "crawler/warc/read.py", "import scrapy  # noqa: E402,F401")
    result = lint_imports(package_copy)
    assert result.returncode != 0
    assert WRITER in _broken(result), result.stdout
