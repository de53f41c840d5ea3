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
