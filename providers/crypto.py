"""Authenticated encryption of provider keys (AES-256-GCM) under a keyring.

A ciphertext reads `v1.<key id>.<base64url(nonce || ciphertext+tag)>`: the key id says
which keyring key opens it, so keys can be rotated while old rows stay readable, and
`rotate` re-encrypts under the newest key. The associated data binds a ciphertext to its
row: moved to another row it fails to decrypt instead of handing out someone's key.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class KeyringError(Exception):
    """The keyring is malformed, or a ciphertext cannot be opened with it."""


@dataclass(frozen=True)
class Keyring:
    """Named 256-bit keys; the last one encrypts, all of them decrypt."""

    keys: tuple[tuple[str, bytes], ...]

    @property
    def current_id(self) -> str:
        return self.keys[-1][0]

    def key(self, key_id: str) -> bytes:
        for candidate_id, key in self.keys:
            if candidate_id == key_id:
                return key
        raise KeyringError(f"no key {key_id!r} in the keyring")

    def encrypt(self, plaintext: str, *, associated_data: str) -> str:
        key_id, key = self.keys[-1]
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), associated_data.encode())
        return f"{VERSION}.{key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, associated_data: str) -> str:
        try:
            version, key_id, body = token.split(".", 2)
            raw = base64.urlsafe_b64decode(body.encode())
        except ValueError:
            raise KeyringError("not a ciphertext of this keyring") from None
        if version != VERSION or len(raw) < 12 + 16:
            raise KeyringError("not a ciphertext of this keyring")
        try:
            plaintext = AESGCM(self.key(key_id)).decrypt(raw[:12], raw[12:], associated_data.encode())
        except InvalidTag:
            raise KeyringError("the ciphertext does not belong to this row, or was altered") from None
        return plaintext.decode()

    def key_id_of(self, token: str) -> str:
        return token.split(".", 2)[1]


def parse_keyring(spec: str) -> Keyring:
    """Read `id1:base64key,id2:base64key` (oldest first) into a Keyring."""
    keys: list[tuple[str, bytes]] = []
    for entry in spec.split(","):
        entry = entry.strip()
        if not entry:
            continue
        key_id, _, encoded = entry.partition(":")
        if not KEY_ID.match(key_id):
            raise KeyringError(f"key id {key_id!r} must be 1-32 letters, digits, '-' or '_'")
        try:
            key = base64.urlsafe_b64decode(encoded.strip().encode() + b"==")
        except ValueError:
            raise KeyringError(f"key {key_id!r} is not base64") from None
        if len(key) != 32:
            raise KeyringError(f"key {key_id!r} must be 32 bytes (256 bits), not {len(key)}")
        if any(existing == key_id for existing, _ in keys):
            raise KeyringError(f"key id {key_id!r} appears twice")
        keys.append((key_id, key))
    if not keys:
        raise KeyringError("the keyring is empty")
    return Keyring(tuple(keys))


def new_key_spec(key_id: str) -> str:
    return f"{key_id}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}"


def embedded_keyring_spec(data_dir: Path) -> str:
    """Embedded mode keeps its keyring in the data directory, made on first use."""
    path = data_dir / "provider_keyring"
    if not path.exists():
        path.write_text(new_key_spec("k1"))
        path.chmod(0o600)
    return path.read_text().strip()
