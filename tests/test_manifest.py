"""The seed manifest: the repository's own, and every way a manifest can be broken."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from crawler.errors import ManifestError
from crawler.manifest import load_manifest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "seeds"


def test_repository_manifest_lists_the_five_seeds() -> None:
    manifest = load_manifest(REPO / "seeds" / "manifest.toml")
    assert [s.id for s in manifest.seeds] == ["000", "001", "002", "003", "004"]
    darpan = manifest.seed("002")
    assert darpan.url.startswith("https://www.darpanmagazine.com/news/international/")
    assert darpan.outlet == "Darpan Magazine"
    assert darpan.published == "2014-07-13"
    for seed in manifest.seeds:
        assert seed.copy_path is not None and seed.copy_path.is_file()
        assert seed.copy_sha256 == hashlib.sha256(seed.copy_path.read_bytes()).hexdigest()


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/seeds is not beside this checkout")
def test_seed_copies_are_byte_identical_to_shared() -> None:
    for copy in sorted(SHARED.glob("*.txt")):
        assert (REPO / "seeds" / copy.name).read_bytes() == copy.read_bytes(), copy.name


def _write(tmp_path: Path, text: str, copies: tuple[str, ...] = ("a.txt",)) -> Path:
    (tmp_path / "seeds").mkdir()
    for name in copies:
        (tmp_path / "seeds" / name).write_text("copy\n")
    path = tmp_path / "seeds" / "manifest.toml"
    path.write_text(text)
    return path


GOOD = '[collection]\nname = "t"\n[[seed]]\nid = "1"\nurl = "https://example.org/a"\n'


@pytest.mark.parametrize(
    ("text", "seed", "problem"),
    [
        ("[[seed]\nid = 1", None, "not valid TOML"),
        ('[[seed]]\nid = "1"\noutlet = "x"\n', "1", "url is missing"),
        (GOOD + '[[seed]]\nid = "1"\nurl = "https://example.org/b"\n', "1", "duplicate id"),
        ('[[seed]]\nid = "1"\nurl = "https://example.org/a"\ncopy = "nope.txt"\n', "1",
         "copy 'nope.txt' does not exist"),
        ('[[seed]]\nid = "1"\nurl = "ftp://example.org/a"\n', "1", "is not http or https"),
        ('[[seed]]\nid = "1"\nurl = "https:///nohost"\n', "1", "has no host"),
        ('[[seed]]\nurl = "https://example.org/a"\n', None, "has no id"),
        ('[[seed]]\nid = "1"\nurl = "https://example.org/a"\npublished = "July"\n', "1",
         "is not a date"),
        ('[[seed]]\nid = "1"\nurl = "https://example.org/a"\ncolour = "red"\n', "1",
         "unknown key"),
        ('[collection]\nname = "t"\nnmae = "typo"\n' + GOOD.split("\n", 2)[2], None,
         "unknown [collection] key(s) nmae"),
        ('[collection]\noperator = "me"\n', None, "the settings CRAWLER_OPERATOR"),
    ],
)
def test_broken_manifest_names_file_seed_and_problem(
    tmp_path: Path, text: str, seed: str | None, problem: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    message = str(info.value)
    assert str(path) in message
    assert problem in message
    if seed:
        assert f"seed {seed}" in message
    assert info.value.exit_code == 2


def test_missing_manifest_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="file not found"):
        load_manifest(tmp_path / "seeds" / "manifest.toml")


def test_optional_fields(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + 'copy = "a.txt"\npublished = 2014-07-13\n')
    seed = load_manifest(path).seeds[0]
    assert seed.outlet == "example.org"  # the host when no outlet is given
    assert seed.published == "2014-07-13"  # a TOML date is accepted
    assert seed.copy == "a.txt"
