"""`crawler package`: a WACZ 1.1.1 checked by this test itself (every hash and size,
pages.jsonl against the database and the archived HTML, the index against the WARC
bytes) and by `wacz validate`; our own Ed25519 signature and tampering."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from warcio.archiveiterator import ArchiveIterator

from crawler.store.db import open_database
from crawler.store.models import Capture, CrawlRun
from helpers import CrawledCollection, run_cli


def _package(crawled: CrawledCollection,
             *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    proc = run_cli("package", "--collection", str(crawled.root), *args, db_url=crawled.db_url)
    waczs = sorted((crawled.root / "archive").glob("*.wacz"))
    return proc, (waczs[-1] if waczs else crawled.root / "missing.wacz")


def _seed_pages(crawled: CrawledCollection) -> list[Capture]:
    sessions = open_database(crawled.db_url, upgrade_schema=False)
    with sessions() as session:
        caps = session.scalars(select(Capture).options(joinedload(Capture.warc_file))
                               .where(Capture.seed_id.is_not(None), Capture.role == "page",
                                      Capture.status >= 200, Capture.status < 300)).all()
        return list(caps)


def test_package_is_a_wacz_by_the_spec(crawled_copy: CrawledCollection) -> None:
    proc, wacz = _package(crawled_copy)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    archive = crawled_copy.root / "archive"
    warcs = sorted(archive.glob("*.warc.gz"))
    with zipfile.ZipFile(wacz) as zf:
        names = set(zf.namelist())
        assert {f"archive/{w.name}" for w in warcs} | {
            "indexes/index.cdx.gz", "indexes/index.idx", "pages/pages.jsonl",
            "datapackage.json", "datapackage-digest.json"} == names
        for info in zf.infolist():  # already-compressed files are stored, for random access
            if info.filename.startswith("archive/") or info.filename.endswith(".cdx.gz"):
                assert info.compress_type == zipfile.ZIP_STORED, info.filename
        for warc in warcs:
            assert zf.read(f"archive/{warc.name}") == warc.read_bytes()

        dp_bytes = zf.read("datapackage.json")
        dp = json.loads(dp_bytes)
        assert dp["profile"] == "data-package" and dp["wacz_version"] == "1.1.1"
        assert dp["created"].endswith("Z") and dp["software"].startswith("provenance-crawler")
        listed = {r["path"]: r for r in dp["resources"]}
        assert set(listed) == names - {"datapackage.json", "datapackage-digest.json"}
        for path, res in listed.items():
            data = zf.read(path)
            assert res["hash"] == "sha256:" + hashlib.sha256(data).hexdigest(), path
            assert res["bytes"] == len(data), path
        digest = json.loads(zf.read("datapackage-digest.json"))
        assert digest == {"path": "datapackage.json",
                          "hash": "sha256:" + hashlib.sha256(dp_bytes).hexdigest()}

        lines = [json.loads(x) for x in zf.read("pages/pages.jsonl").decode().splitlines()]
        cdx = gzip.decompress(zf.read("indexes/index.cdx.gz")).decode().splitlines()
        idx = zf.read("indexes/index.idx").decode().splitlines()

    assert lines[0]["format"] == "json-pages-1.0" and lines[0]["id"] == "pages"
    pages = lines[1:]
    seeds = _seed_pages(crawled_copy)
    assert len(pages) == len(seeds) == 5
    by_id = {f"capture-{c.id}": c for c in seeds}
    for page in pages:
        cap = by_id[page["id"]]
        assert page["url"] == cap.url and page["seed_id"] == cap.seed_id
        assert page["ts"] == cap.fetched_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert page["title"], page
        with (archive / cap.warc_file.name).open("rb") as fh:  # the title is in the bytes
            fh.seek(cap.response_offset)
            body = next(iter(ArchiveIterator(fh))).content_stream().read()
        assert page["title"].split(" ")[0].encode() in body

    assert cdx == sorted(cdx) and idx[0].startswith("!meta")
    for line in cdx:
        fields = json.loads(line.split(" ", 2)[2])
        with (archive / fields["filename"]).open("rb") as fh:
            fh.seek(int(fields["offset"]))
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_headers.get_header("WARC-Target-URI") == fields["url"]

    check = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(wacz)],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "is valid" in check.stdout


def test_package_of_one_run(crawled_copy: CrawledCollection) -> None:
    sessions = open_database(crawled_copy.db_url, upgrade_schema=False)
    with sessions() as session:
        run_id = session.scalars(select(CrawlRun.id)).first()
    proc, wacz = _package(crawled_copy, "--run", str(run_id))
    assert proc.returncode == 0, proc.stderr
    assert wacz.name.endswith(f"-run{run_id}.wacz")
    dp = json.loads(zipfile.ZipFile(wacz).read("datapackage.json"))
    assert [r["id"] for r in dp["crawlRuns"]] == [run_id]

    proc, _ = _package(crawled_copy, "--run", "999")
    assert proc.returncode == 2 and "--run 999" in proc.stderr


def test_signed_package_verifies_and_tampering_is_caught(crawled_copy: CrawledCollection,
                                                         tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "ledger.key"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    proc, wacz = _package(crawled_copy, "--sign", str(key_file), "-o", str(tmp_path / "s.wacz"))
    assert proc.returncode == 0, proc.stderr
    wacz = tmp_path / "s.wacz"
    with zipfile.ZipFile(wacz) as zf:
        dp = zf.read("datapackage.json")
        sig = json.loads(zf.read("datapackage-digest.json"))["crawlerSignature"]
    key.public_key().verify(__import__("base64").b64decode(sig["signature"]), dp)
    pub = tmp_path / "ledger.key.pub"
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    ok = run_cli("package", "--collection", str(crawled_copy.root), "--check", str(wacz),
                 "--public-key", str(pub))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    other = tmp_path / "other.pub"
    other.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    wrong = run_cli("package", "--collection", str(crawled_copy.root), "--check", str(wacz),
                    "--public-key", str(other))
    assert wrong.returncode == 1 and "not by the given public key" in wrong.stdout
    check = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(wacz)],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout

    tampered = tmp_path / "t.wacz"  # same package, one byte of pages.jsonl changed
    with zipfile.ZipFile(wacz) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "pages/pages.jsonl":
                data = data.replace(b"capture-", b"kapture-", 1)
            dst.writestr(info, data)
    bad = run_cli("package", "--collection", str(crawled_copy.root), "--check", str(tampered))
    assert bad.returncode == 1
    assert "pages/pages.jsonl does not match its SHA-256" in bad.stdout


def test_altered_warc_file_is_not_packaged(crawled_copy: CrawledCollection) -> None:
    warc = sorted((crawled_copy.root / "archive").glob("*.warc.gz"))[0]
    with warc.open("ab") as fh:
        fh.write(b"\0")
    proc, _ = _package(crawled_copy)
    assert proc.returncode == 1
    assert warc.name in proc.stderr and "differs from the recorded" in proc.stderr
    assert not list((crawled_copy.root / "archive").glob("*.wacz*"))


@pytest.mark.parametrize("key_text", [b"not a key", None])
def test_bad_signing_key_is_bad_input(crawled_copy: CrawledCollection, tmp_path: Path,
                                      key_text: bytes | None) -> None:
    key_file = tmp_path / "k.pem"
    if key_text is not None:
        key_file.write_bytes(key_text)
    proc, _ = _package(crawled_copy, "--sign", str(key_file))
    assert proc.returncode == 2
    assert str(key_file) in proc.stderr
