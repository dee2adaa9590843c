"""Ed25519 signed ledger heads: keys, signatures, `crawl --sign` and `verify --public-key`."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.errors import BadInput
from crawler.store.signing import (
    check_head_signature,
    load_private_key,
    load_public_key,
    sign_head,
    write_keypair,
)
from helpers import CrawledCollection, crawl_collection, make_collection, run_cli

HEAD = "ab" * 32
RUN = "5b0c3c2e-0000-4000-8000-000000000001"


def test_sign_and_check(tmp_path: Path) -> None:
    private, public = write_keypair(tmp_path / "key")
    assert oct(private.stat().st_mode & 0o777) == "0o600"
    signature = sign_head(load_private_key(private), run_uuid=RUN, head=HEAD)
    key = load_public_key(public)
    assert check_head_signature(key, signature, run_uuid=RUN, head=HEAD) is None
    assert "altered" in (check_head_signature(key, signature, run_uuid=RUN, head="cd" * 32) or "")
    assert check_head_signature(key, signature, run_uuid=RUN[:-1] + "2", head=HEAD) is not None


def test_wrong_key_is_named(tmp_path: Path) -> None:
    private, _ = write_keypair(tmp_path / "a")
    _, other = write_keypair(tmp_path / "b")
    signature = sign_head(load_private_key(private), run_uuid=RUN, head=HEAD)
    problem = check_head_signature(load_public_key(other), signature, run_uuid=RUN, head=HEAD)
    assert problem and "names key" in problem


def test_keys_are_refused_loudly(tmp_path: Path) -> None:
    private, public = write_keypair(tmp_path / "key")
    with pytest.raises(BadInput):
        write_keypair(tmp_path / "key")  # never overwrite
    with pytest.raises(BadInput):
        load_private_key(public)
    with pytest.raises(BadInput):
        load_public_key(tmp_path / "missing.pub")


def test_keygen_command(tmp_path: Path) -> None:
    proc = run_cli("keygen", str(tmp_path / "k"))
    assert proc.returncode == 0 and (tmp_path / "k.pub").exists(), proc.stderr
    assert run_cli("keygen", str(tmp_path / "k")).returncode == 2


def test_crawl_sign_and_verify_public_key(site_server: str, tmp_path: Path) -> None:
    from crawler.fixture_site import demo_manifest_toml

    private, public = write_keypair(tmp_path / "keys" / "crawl")
    _, wrong = write_keypair(tmp_path / "keys" / "other")
    root = make_collection(tmp_path / "signed", demo_manifest_toml(site_server))
    bad = crawl_collection(root, "--seed", "001", "--sign", str(tmp_path / "nope"))
    assert bad.returncode == 2, bad.stdout + bad.stderr
    result = crawl_collection(root, "--seed", "001", "--sign", str(private))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "signed with Ed25519 key" in result.stdout
    coll = CrawledCollection(root, result.db_url, site_server, "", "", 0)

    def verify(*args: str) -> tuple[int, str]:
        proc = run_cli("verify", "--collection", str(root), *args, db_url=coll.db_url)
        return proc.returncode, proc.stdout + proc.stderr

    code, out = verify("--public-key", str(public))
    assert code == 0 and "signed heads checked" in out, out
    code, out = verify("--public-key", str(wrong))
    assert code == 1, out
    lines = [line for line in out.splitlines() if line.startswith("signature ")]
    assert any("crawl run 1" in line for line in lines), out
    code, out = verify()
    assert code == 0 and "signed heads not checked" in out, out
