"""Ed25519 signatures of ledger heads: anchoring the provenance ledger outside the database.

A hash chain kept only in the database stops nobody who can write to the database:
they can rewrite rows and recompute every hash. A head signed with a private key
the database never sees can only be re-made by whoever holds that key. At the end
of a run `crawl --sign KEYFILE` (setting PROVENANCE_SIGNING_KEY) signs

    b"provenance-crawler ledger head v1\\n" + run uuid + b"\\n" + head + b"\\n"

and stores `ed25519:<key id>:<base64 signature>` in `crawl_runs.head_signature`;
`verify --public-key FILE` checks it. The key id is the first 16 hex digits of the
SHA-256 of the raw 32-byte public key. Keys are PEM files (PKCS#8 private key,
SubjectPublicKeyInfo public key) as `crawler keygen` writes them.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crawler.errors import BadInput

ALGORITHM = "ed25519"
MESSAGE_PREFIX = b"provenance-crawler ledger head v1\n"


def head_message(*, run_uuid: str, head: str) -> bytes:
    """The exact bytes that are signed for one run's ledger head."""
    return MESSAGE_PREFIX + run_uuid.encode("ascii") + b"\n" + head.encode("ascii") + b"\n"


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def write_keypair(private_path: Path) -> tuple[Path, Path]:
    """A new key pair: `private_path` (mode 0600) and `private_path` + `.pub`."""
    public_path = private_path.with_name(private_path.name + ".pub")
    for path in (private_path, public_path):
        if path.exists():
            raise BadInput(f"{path}: already exists; not overwriting a key")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_pem)
    public_path.write_bytes(public_pem)
    return private_path, public_path


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise BadInput(f"{what} {path}: cannot read it ({exc.strerror})") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    data = _read(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise BadInput(f"signing key {path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BadInput(f"signing key {path}: not an Ed25519 key ({type(key).__name__})")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    data = _read(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise BadInput(f"public key {path}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BadInput(f"public key {path}: not an Ed25519 key ({type(key).__name__})")
    return key


def sign_head(key: Ed25519PrivateKey, *, run_uuid: str, head: str) -> str:
    """The `head_signature` value for one run's head."""
    signature = key.sign(head_message(run_uuid=run_uuid, head=head))
    return f"{ALGORITHM}:{key_id(key.public_key())}:{base64.b64encode(signature).decode('ascii')}"


def head_signer(key_path: Path) -> Callable[[str, str], str]:
    """A `sign(run_uuid, head)` callable for `crawler.store.runs.finish_run`; loads the key now."""
    key = load_private_key(key_path)
    return lambda run_uuid, head: sign_head(key, run_uuid=run_uuid, head=head)


def check_head_signature(
    public_key: Ed25519PublicKey, signature: str, *, run_uuid: str, head: str
) -> str | None:
    """None when `signature` is a valid signature of this head by `public_key`, else why not."""
    algorithm, _, rest = signature.partition(":")
    signer_id, _, b64 = rest.partition(":")
    if algorithm != ALGORITHM or not b64:
        return f"signature {signature[:40]!r} is not in the form ed25519:<key id>:<base64>"
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError:
        return "signature is not valid base64"
    try:
        public_key.verify(raw, head_message(run_uuid=run_uuid, head=head))
    except InvalidSignature:
        given = key_id(public_key)
        hint = (f"it names key {signer_id}, the given public key is {given}"
                if signer_id != given else "the head or the signature was altered")
        return f"signature does not verify with the given public key ({hint})"
    return None
