"""Our own Ed25519 signature of a WACZ's datapackage.json, and checking a WACZ.

This is NOT the WACZ Signing and Verification spec (authsign): authsign's anonymous
signatures cannot be verified by its own tooling, so we sign with the Ed25519 key the
ledger heads are signed with (the PEM key file `crawler keygen` writes, read by
`crawler.store.signing`) and record the signature under a key of our own in
`datapackage-digest.json`, where WACZ tools ignore it:

    "crawlerSignature": {"algorithm": "Ed25519", "signs": "datapackage.json",
                         "keyId": <crawler.store.signing key id>,
                         "publicKey": <base64 raw 32 bytes>, "signature": <base64>}

The signature covers the exact bytes of datapackage.json, whose resources carry every
file's SHA-256, so it covers the whole package. `check_package` re-hashes every member
against datapackage.json, checks the digest file and, when present, the signature.
Reads no settings.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crawler.store import signing

SIGNATURE_KEY = "crawlerSignature"


def _raw_public(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def signer(key: Ed25519PrivateKey) -> Any:
    """A `sign(datapackage_bytes) -> dict` for `crawler.access.wacz.build_package`."""

    def sign(datapackage: bytes) -> dict[str, Any]:
        return {SIGNATURE_KEY: {
            "algorithm": "Ed25519",
            "signs": "datapackage.json",
            "keyId": signing.key_id(key.public_key()),
            "publicKey": _raw_public(key.public_key()),
            "signature": base64.b64encode(key.sign(datapackage)).decode("ascii"),
            "note": "provenance-crawler's own signature, not WACZ-auth/authsign",
        }}

    return sign


def check_package(path: Path, *, public_key: Ed25519PublicKey | None = None) -> list[str]:
    """Problems found in the WACZ at `path` (empty when every hash and signature holds).

    With `public_key`, the package must also be signed by that key: a signature checks
    only against the key it carries, which anyone re-signing a package can replace.
    """
    problems: list[str] = []
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        return [f"{path}: not a readable zip ({exc})"]
    with zf:
        names = set(zf.namelist())
        for required in ("datapackage.json", "datapackage-digest.json", "pages/pages.jsonl"):
            if required not in names:
                problems.append(f"{path.name}: {required} is missing")
        if "datapackage.json" not in names:
            return problems
        dp = zf.read("datapackage.json")
        package = json.loads(dp)
        listed = {r["path"]: r for r in package.get("resources", [])}
        for name in sorted(names - {"datapackage.json", "datapackage-digest.json"}):
            res = listed.get(name)
            if res is None:
                problems.append(f"{path.name}: {name} is not listed in datapackage.json")
                continue
            data = zf.read(name)
            if res.get("hash") != "sha256:" + hashlib.sha256(data).hexdigest():
                problems.append(f"{path.name}: {name} does not match its SHA-256")
            if res.get("bytes") != len(data):
                problems.append(f"{path.name}: {name} is {len(data)} bytes, "
                                f"datapackage.json says {res.get('bytes')}")
        problems += [f"{path.name}: {p} is listed but missing" for p in listed if p not in names]
        if "datapackage-digest.json" in names:
            problems += _check_digest(path.name, dp, json.loads(zf.read("datapackage-digest.json")),
                                      public_key)
        elif public_key is not None:
            problems.append(f"{path.name}: not signed")
    return problems


def _check_digest(name: str, dp: bytes, digest: dict[str, Any],
                  expected: Ed25519PublicKey | None) -> list[str]:
    if digest.get("hash") != "sha256:" + hashlib.sha256(dp).hexdigest():
        return [f"{name}: datapackage.json does not match datapackage-digest.json"]
    sig = digest.get(SIGNATURE_KEY)
    if not sig:
        return [f"{name}: not signed"] if expected is not None else []
    if expected is not None and sig.get("publicKey") != _raw_public(expected):
        return [f"{name}: signed by key {sig.get('keyId')}, not by the given public key "
                f"{signing.key_id(expected)}"]
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(sig["publicKey"]))
        public.verify(base64.b64decode(sig["signature"]), dp)
    except (InvalidSignature, KeyError, ValueError):
        return [f"{name}: the Ed25519 signature of datapackage.json does not verify"]
    return []
