"""Keep secrets out of logs, errors and the archive.

URLs may carry credentials (``https://user:pass@host``) or API keys in the query; every URL
that ends up in a message or a stored error goes through ``redact_url`` first.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

#: A query parameter whose name has one of these words (as a whole word between ``_``,
#: ``-`` or ``.``) carries a secret: api_key, access_token, client_secret, X-Amz-Signature...
_SECRET_PARAM = re.compile(
    r"(?i)(^|&)([\w.-]*?(?:^|[_.-]|\b)(?:key|apikey|token|secret|password|passwd|pass|pwd|sig"
    r"|signature|auth|credential|credentials)(?:[_.-][\w.-]*)?)=[^&]*"
)


def redact_url(url: str) -> str:
    """Drop the password from the authority and mask secret-looking query values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostport}" if ":" in userinfo else f"{user}@{hostport}"
    query = _SECRET_PARAM.sub(lambda m: f"{m.group(1)}{m.group(2)}=***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


_URL = re.compile(r"https?://[^\s'\"<>]+")


def redact_urls(text: str) -> str:
    """redact_url applied to every URL inside a free-text message (e.g. an httpx error)."""
    return _URL.sub(lambda m: redact_url(m.group(0)), text)


def redact_text(text: str, secrets: list[str]) -> str:
    """Replace every occurrence of each known secret value in free text."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
