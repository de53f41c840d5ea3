"""How one audit log entry is hashed: SHA-256 over a canonical JSON of its fields and the hash before.

Vocabulary, because both the writer (opsplan.audit) and the migration that chained the rows written
before the chain existed (store/migrations) use it. It must never change shape: a changed field list
or encoding would break every stored chain.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64  # the prev_hash of the first entry
HASHED_FIELDS = ("at", "actor", "action", "target", "kind", "run_id", "arguments", "outcome", "detail")


def canonical(fields: dict[str, Any], prev_hash: str) -> bytes:
    """Sorted keys, no whitespace, UTF-8; `arguments` is the stored JSON text, hashed as stored."""
    document = {name: fields.get(name) for name in HASHED_FIELDS}
    document["prev_hash"] = prev_hash
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(fields: dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical(fields, prev_hash)).hexdigest()
