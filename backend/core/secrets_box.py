"""Secrets at rest: channel tokens and app secrets, Ultramsg webhook tokens, outgoing-webhook
secrets and TOTP seeds are stored encrypted, so the database file (or a backup, or a dump) never
holds one in clear.

`cryptography`'s Fernet (AES-128-CBC with HMAC-SHA256, versioned tokens) under a `MultiFernet`:
keys come from `SECRETS_KEYS` (comma-separated; the first encrypts, every one decrypts) or, when
unset, one generated once into `var/secrets_keys` like SECRET_KEY. Rotation: put a new key first,
keep the old ones after it, run `switchboard rotate-keys` (everything is re-encrypted under the
first), then drop the old keys.

Columns declare `EncryptedText`: encryption happens as a row is written and decryption as it is
read, in one place, so no domain handles ciphertext. A value without our prefix is a row written
before encryption existed: it is read as it is, and `rotate-keys` (also run by `switchboard
migrate`) encrypts it.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from backend.config import Settings

PREFIX = "enc:v1:"
_keys: list[bytes] = []
_box: MultiFernet | None = None


class SecretsKeyError(Exception):
    pass


def keys_of(settings: Settings) -> list[bytes]:
    """SECRETS_KEYS, or the key generated once into var/ (kept, so secrets survive restarts)."""
    if settings.secrets_keys:
        raw = [k.strip() for k in settings.secrets_keys.split(",") if k.strip()]
    else:
        path = settings.var_dir / "secrets_keys"
        if not path.exists():
            settings.var_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(Fernet.generate_key().decode() + "\n")
            path.chmod(0o600)
        raw = [k.strip() for k in path.read_text().replace(",", "\n").splitlines() if k.strip()]
    keys = [k.encode() for k in raw]
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise SecretsKeyError(
                "SECRETS_KEYS: each key must be 32 url-safe base64-encoded bytes "
                "(make one with `switchboard new-secrets-key`)"
            ) from None
    return keys


def configure(settings: Settings) -> None:
    """Called by every process before it touches the database. The first configuration's first
    key encrypts; keys configured later (another settings object in the same process, as tests
    make) are added for decryption only."""
    global _box
    for key in keys_of(settings):
        if key not in _keys:
            _keys.append(key)
    _box = MultiFernet([Fernet(k) for k in _keys])


def new_key() -> str:
    return Fernet.generate_key().decode()


def _current() -> MultiFernet:
    if _box is None:
        from backend.config import get_settings

        configure(get_settings())
    assert _box is not None
    return _box


def encrypt(value: str) -> str:
    return PREFIX + _current().encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption existed; `rotate-keys` encrypts it
    try:
        return _current().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise SecretsKeyError(
            "a stored secret cannot be decrypted with SECRETS_KEYS: is a key missing?"
        ) from None


def is_encrypted_under_primary(stored: str | None) -> bool:
    if not stored or not stored.startswith(PREFIX):
        return not stored
    token = stored[len(PREFIX) :].encode()
    try:
        Fernet(_keys[0]).decrypt(token)
    except InvalidToken:
        return False
    return True


class EncryptedText(TypeDecorator[str]):
    """A text column whose values are Fernet tokens in the database and plain str in Python."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return decrypt(str(value))
