"""Ed25519 signatures over the exact bytes of a feed.

The county signs ``feed.json`` as served; terminals pin public keys. Keys and
signatures travel as base64 text so they fit in a TOML file and a ``.sig`` file.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from sync.errors import FeedRejected

MAX_SIGNATURE_BYTES = 1024  # a base64 Ed25519 signature is 88 characters


def generate_keypair() -> tuple[str, str]:
    """Return ``(private_b64, public_b64)``: raw 32-byte keys, base64-encoded."""
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return _b64(raw_private), public_key_of(_b64(raw_private))


def public_key_of(private_b64: str) -> str:
    private = _load_private(private_b64)
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return _b64(raw)


def sign(body: bytes, private_b64: str) -> str:
    """Sign ``body`` and return the base64 signature as written to ``feed.json.sig``."""
    return _b64(_load_private(private_b64).sign(body))


def load_public_key(public_b64: str) -> Ed25519PublicKey:
    """Parse one pinned key; raises ``ValueError`` with a line fit for a config error."""
    try:
        raw = base64.b64decode(public_b64.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"public key {public_b64[:12]!r}… is not valid base64") from exc
    if len(raw) != 32:
        raise ValueError(f"public key {public_b64[:12]!r}… is {len(raw)} bytes, expected 32")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify(body: bytes, signature: bytes | str | None, public_keys: list[str]) -> str:
    """Check ``signature`` over ``body`` against any pinned key; return the key that matched.

    Raises :class:`FeedRejected` with the reason otherwise. Trying every pinned key lets a
    county roll its key over: pin old and new, switch signing, then drop the old one.
    """
    if signature is None:
        raise FeedRejected("feed is unsigned but public keys are pinned (no .sig file)")
    if isinstance(signature, bytes):
        if len(signature) > MAX_SIGNATURE_BYTES:
            raise FeedRejected("feed signature file is too large to be an Ed25519 signature")
        try:
            signature = signature.decode("ascii")
        except UnicodeDecodeError as exc:
            raise FeedRejected("feed signature is not base64 text") from exc
    try:
        raw_sig = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FeedRejected("feed signature is not valid base64") from exc
    if len(raw_sig) != 64:
        raise FeedRejected(f"feed signature is {len(raw_sig)} bytes, expected 64")
    for key_b64 in public_keys:
        try:
            load_public_key(key_b64).verify(raw_sig, body)
        except InvalidSignature:
            continue
        return key_b64
    raise FeedRejected("feed signature does not match any pinned public key")


def _load_private(private_b64: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(private_b64.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("private key is not valid base64") from exc
    if len(raw) != 32:
        raise ValueError(f"private key is {len(raw)} bytes, expected 32")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
