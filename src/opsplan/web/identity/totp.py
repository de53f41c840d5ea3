"""Second factor: TOTP (RFC 6238, via pyotp) and single-use recovery codes stored as digests."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp

ISSUER = "opsplan"
STEP = 30  # seconds per TOTP code
RECOVERY_CODES = 10


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, user: str) -> str:
    """The otpauth:// link an authenticator app reads (shown once, as text or a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user, issuer_name=ISSUER)


def matching_step(secret: str, code: str, at: float, last_step: int | None) -> int | None:
    """The time step `code` is valid for (this one or either neighbour, for clock drift), or None.
    A step at or before `last_step` was already used: a code is good once."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(at // STEP)
    for step in (now_step - 1, now_step, now_step + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Random codes like `k3vq-8m2x-p7dr`: 60 bits each, shown once, stored by digest only."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return ["-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))
            for _ in range(count)]


def code_digest(code: str) -> str:
    normal = code.strip().lower().replace(" ", "")
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()
