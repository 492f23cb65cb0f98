"""Passwords never leave the process in clear: every URL or text the project writes or prints
goes through ``mask_secrets`` first.

Masks the password of a URL's userinfo (``postgresql://me:hunter2@host/db`` →
``postgresql://me:***@host/db``) and the value of ``password=`` parameters (a query string,
a libpq conninfo, a ``KEY=VALUE`` option). Standard library only: the app and the harness both
use it, and so does the one-line error of the CLI.
"""

from __future__ import annotations

import re

MASK = "***"
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s:/?#@]*):([^\s/?#]*)@(?=[^\s@]*)")
# the value runs to the next separator; a trailing ":", "," or "." before a space is prose
_PARAMETER = re.compile(
    r"(\b(?:password|passwd|pwd)\s*=\s*)([^\s&;#'\"]+?)(?=[:,.]?(?:[\s&;#'\"]|$))",
    re.IGNORECASE,
)


def mask_secrets(text: str) -> str:
    """``text`` with every URL password and ``password=`` value replaced by ``***``."""
    if "://" not in text and "=" not in text:
        return text
    masked = _USERINFO.sub(_mask_userinfo, text)
    return _PARAMETER.sub(lambda m: m.group(1) + MASK, masked)


def _mask_userinfo(match: re.Match[str]) -> str:
    return f"{match.group(1)}:{MASK}@"


def redact_url(url: str) -> str:
    """``postgresql://u:secret@h/db?password=x`` → ``postgresql://u:***@h/db?password=***``."""
    if "://" in url and "@" in url:  # a password may itself hold an "@": split at the last one
        scheme, rest = url.split("://", 1)
        head, _, tail = rest.rpartition("@")
        if ":" in head.split("/", 1)[0]:
            url = f"{scheme}://{head.split(':', 1)[0]}:{MASK}@{tail}"
    return mask_secrets(url)
