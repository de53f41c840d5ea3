"""Passwords: Argon2id hashes (argon2-cffi), checked in constant work whether the user exists,
and rehashed on the next good login when the parameters have changed."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # Argon2 takes any length; a megabyte "password" is a denial of service, not a secret


def hasher() -> PasswordHasher:
    """argon2-cffi's defaults: Argon2id with RFC 9106's low-memory profile (64 MiB, t=3, p=4)."""
    return PasswordHasher()


def too_weak(password: str) -> str | None:
    """Why `password` is refused ("short" or "long"), or None when it may be used."""
    if len(password) < MIN_LENGTH:
        return "short"
    if len(password) > MAX_LENGTH:
        return "long"
    return None


def hash_password(password: str, with_hasher: PasswordHasher) -> str:
    return with_hasher.hash(password)


@dataclass(frozen=True, slots=True)
class Checked:
    ok: bool
    rehashed: str | None = None  # the new hash to store when the old one used weaker parameters


_DUMMY: dict[int, str] = {}


def check(stored: str | None, password: str, with_hasher: PasswordHasher) -> Checked:
    """Whether `password` matches `stored`. With no stored hash (no such user) the same work is
    done against a dummy hash, so the answer's timing does not tell who exists."""
    if stored is None:
        key = id(with_hasher)
        if key not in _DUMMY:
            _DUMMY[key] = with_hasher.hash("opsplan dummy password, never valid")
        stored, password = _DUMMY[key], password + "\x00"
        with contextlib.suppress(VerificationError, InvalidHashError):
            with_hasher.verify(stored, password)
        return Checked(False)
    if len(password) > MAX_LENGTH:
        return Checked(False)
    try:
        with_hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return Checked(False)
    if with_hasher.check_needs_rehash(stored):
        return Checked(True, with_hasher.hash(password))
    return Checked(True)
