"""Secrets out of stored records: the one rule for which keys name a secret, and their masking.

The runbook journal and the audit log store arguments and details as JSON; a value under a key that
names a secret never reaches them.
"""

from __future__ import annotations

import re
from typing import Any

# Whole words at the end of the key ("db_password", "api_token"), so "tokens_per_second" is a figure.
SECRET_KEY = re.compile(r"(^|[_.-])(pass(word|wd|phrase)?|pwd|secret|token|credentials?|authorization"
                        r"|(api|secret|private)[_-]?key)$", re.IGNORECASE)
MASK = "***"


def mask(value: Any) -> Any:
    """A copy of `value` where every dict entry whose key names a secret is replaced by '***'."""
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and SECRET_KEY.search(k) and v not in (None, "")
                    else mask(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask(v) for v in value]
    return value


# Free text (a tool's output, a log line): `password=...`, `token: ...`, `Authorization: Bearer ...`
# and the password of a URL (`scheme://user:secret@host`).
_TEXT_SECRET = re.compile(r"(?i)\b((?:[\w.-]*[_.-])?(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key)"
                          r"\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&]+)")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+(@)")


def mask_text(text: str) -> str:
    """`text` with every secret-looking value replaced by '***' (keys and URLs stay readable)."""
    text = _URL_PASSWORD.sub(rf"\g<1>{MASK}\g<2>", text)
    text = _BEARER.sub(rf"\g<1>{MASK}", text)
    return _TEXT_SECRET.sub(rf"\g<1>{MASK}", text)
