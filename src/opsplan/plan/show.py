"""The effective plan as a person reads it: `opsplan plan show` and the console's Plan page.

A valid plan holds no secret (the loader refuses an inline password; secrets are named by an
environment variable or a 0600 file), but a URL can still carry one the loader cannot see:
`http://user:pass@host/health`, `?token=...`, or a request body field named `api_key`. Those are
masked here, so both places that print the plan print the same, safe, text.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from opsplan.plan.models import Plan

HIDDEN = "***"
# A key holding one of these words holds a secret, unless it only names where the secret is.
SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "authorization", "credential")
NAMES_A_SOURCE = ("_env", "_file")


def effective(plan: Plan) -> dict[str, Any]:
    """Every value of `plan`, defaults filled in, durations and sizes in human form; secrets masked."""
    masked: dict[str, Any] = mask(plan.model_dump(mode="json", by_alias=True))
    return masked


def effective_yaml(plan: Plan) -> str:
    from ruamel.yaml import YAML  # loaded by the two callers only

    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    buffer = io.StringIO()
    yaml.dump(effective(plan), buffer)
    return buffer.getvalue().rstrip("\n")


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in SECRET_WORDS) and not lowered.endswith(NAMES_A_SOURCE)


def mask(node: Any, key: str = "") -> Any:
    if key and is_secret_key(key) and node not in (None, "", [], {}):
        return HIDDEN
    if isinstance(node, dict):
        return {k: mask(v, str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [mask(v) for v in node]
    if isinstance(node, str) and "://" in node:
        return mask_url(node)
    return node


def mask_url(url: str) -> str:
    """`https://bot:s3cret@chat/hook?token=abc&room=ops` -> `https://bot:***@chat/hook?token=***&room=ops`."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user, colon, _ = userinfo.partition(":")
            netloc = f"{user}:{HIDDEN}@{host}" if colon else f"{HIDDEN}@{host}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode([(k, HIDDEN if is_secret_key(k) else v) for k, v in pairs], safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:  # not a URL after all (a port out of range, a bracket): hide it whole
        return HIDDEN
