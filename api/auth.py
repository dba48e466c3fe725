"""API keys and roles. Keys are kept only as SHA-256 digests, loaded from a file or the
environment, and checked per endpoint by the `require(*roles)` dependency.

Keys are long random tokens, so an unsalted SHA-256 digest is enough: a salt protects guessable
secrets, and a salted slow hash would cost every request a key derivation per stored key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from .errors import ApiError

ORDER_SYSTEM = "order-system"
DISPATCHER = "dispatcher"
PLANNER = "planner"
ADMIN = "admin"
ROLES = (ORDER_SYSTEM, DISPATCHER, PLANNER, ADMIN)

ENV_VAR = "SLOT211_API_KEYS"
HASH_PREFIX = "sha256:"
MIN_KEY_LENGTH = 16

bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer KEY`")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: KEY`")


def digest(key: str) -> str:
    """The stored form of a key: its SHA-256, in hex."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who called: the key's role and a short, loggable id (the digest's first 12 hex digits)."""

    role: str
    key_id: str


class KeyStore:
    """Known keys as digest -> role. A lookup compares against every digest in constant time."""

    def __init__(self, digests: Mapping[str, str] | None = None) -> None:
        self._roles: dict[str, str] = {}
        for hexdigest, role in (digests or {}).items():
            self._add_digest(hexdigest, role, hexdigest)

    def __len__(self) -> int:
        return len(self._roles)

    def add(self, entry: str, role: str) -> None:
        """Add a key, given as plain text or as "sha256:HEX"."""
        if entry.startswith(HASH_PREFIX):
            self._add_digest(entry[len(HASH_PREFIX):], role, entry)
        elif len(entry) < MIN_KEY_LENGTH:
            raise ValueError(f"API key for role {role!r} is shorter than {MIN_KEY_LENGTH} "
                             "characters")
        else:
            self._add_digest(digest(entry), role, f"{entry[:4]}...")

    def _add_digest(self, hexdigest: str, role: str, shown: str) -> None:
        if role not in ROLES:
            raise ValueError(f"API key {shown}: unknown role {role!r}; roles are "
                             f"{', '.join(ROLES)}")
        hexdigest = hexdigest.lower()
        if len(hexdigest) != 64 or any(c not in "0123456789abcdef" for c in hexdigest):
            raise ValueError(f"API key {shown}: a digest must be 64 hex digits")
        self._roles[hexdigest] = role

    def generate(self, role: str = ADMIN) -> str:
        """Make, add and return a fresh random key (256 bits) for `role`."""
        key = secrets.token_urlsafe(32)
        self.add(key, role)
        return key

    def principal(self, key: str) -> Principal | None:
        """The caller a presented key belongs to, or None."""
        wanted = digest(key)
        found = None
        for hexdigest, role in self._roles.items():
            if hmac.compare_digest(hexdigest, wanted):
                found = Principal(role, hexdigest[:12])
        return found

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str]) -> KeyStore:
        """From {plain key or "sha256:HEX": role}."""
        store = cls()
        for entry, role in mapping.items():
            if not isinstance(role, str):
                raise ValueError(f"API key entry {entry[:4]}...: the role must be a string")
            store.add(entry, role)
        return store

    @classmethod
    def from_file(cls, path: str | Path) -> KeyStore:
        """From a JSON or TOML file (by suffix) holding the mapping, at the top or under "keys"."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{path}: not a valid key file ({exc})") from None
        if isinstance(data, dict) and isinstance(data.get("keys"), dict):
            data = data["keys"]
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of key (or sha256:HEX) to role")
        return cls.from_mapping(data)

    @classmethod
    def from_env(cls, value: str) -> KeyStore:
        """From "role:key,role:key" (a key may be "sha256:HEX")."""
        store = cls()
        for item in filter(None, (part.strip() for part in value.split(","))):
            role, sep, entry = item.partition(":")
            if not sep or not entry:
                raise ValueError(f"{ENV_VAR}: expected role:key, got {item.split(':')[0]!r}...")
            store.add(entry.strip(), role.strip())
        return store

    @classmethod
    def load(cls, path: str | Path | None = None,
             environ: Mapping[str, str] = os.environ) -> KeyStore:
        """The keys from the file at `path` (if given) and from SLOT211_API_KEYS, merged."""
        store = cls.from_file(path) if path is not None else cls()
        if environ.get(ENV_VAR):
            store._roles.update(cls.from_env(environ[ENV_VAR])._roles)
        return store


def _unauthenticated(message: str) -> ApiError:
    return ApiError(401, "UNAUTHENTICATED", message, headers={"WWW-Authenticate": "Bearer"})


def require(*roles: str) -> Callable[..., object]:
    """A dependency admitting a valid key whose role is in `roles` (admin always); else 401/403."""
    allowed = frozenset(roles) | {ADMIN}

    async def check(request: Request,
                    credentials: HTTPAuthorizationCredentials | None = Security(bearer),
                    header_key: str | None = Security(api_key_header)) -> Principal:
        key = credentials.credentials if credentials is not None else header_key
        if not key:
            raise _unauthenticated("missing API key: send Authorization: Bearer KEY or X-API-Key")
        principal = request.app.state.keys.principal(key)
        if principal is None:
            raise _unauthenticated("unknown API key")
        if principal.role not in allowed:
            raise ApiError(403, "FORBIDDEN", f"role {principal.role!r} may not call this endpoint")
        request.state.principal = principal
        return principal

    return check
