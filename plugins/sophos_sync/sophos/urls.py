"""Which URLs may receive the Sophos client secret or bearer token, and how a URL is shown in logs and errors.

Kept apart from the HTTP loop so the rule that guards every request reads in one place.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from urllib.parse import urlsplit, urlunsplit

import httpx

# The Sophos client logs under one name, whichever of its modules speaks, so log settings keep applying.
log = logging.getLogger("sophos_sync.sophos.client")

# The hosts that may receive the client secret or the bearer token: id.sophos.com and *.sophos.com.
_SOPHOS_HOSTNAME = re.compile(r"(?:[a-z0-9-]+\.)+sophos\.com")
# Overrides already warned about in this process (one warning per run and connection, not per client).
_warned_overrides: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def may_receive_secrets(url: str | httpx.URL, api_host_override: str | None) -> bool:
    """Whether `url` may receive the client secret or the bearer token: https on id.sophos.com or
    *.sophos.com, or the api_host_override's own scheme, host and port (the one explicit escape hatch).
    Every request goes through here, so does whatever host an API answer names."""
    return _may_receive_secrets(str(url), api_host_override)


# A licence run asks about the same URL tens of thousands of times; the answer depends on the two strings only.
@functools.lru_cache(maxsize=1024)
def _may_receive_secrets(text: str, api_host_override: str | None) -> bool:
    if any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in text):
        return False  # urlsplit silently drops tabs and newlines that httpx would refuse or keep
    try:
        parts = urlsplit(text)
        origin = (parts.scheme, parts.hostname, parts.port)
        if parts.username is not None or parts.password is not None:
            return False
        if api_host_override:
            override = urlsplit(api_host_override)
            if origin == (override.scheme, override.hostname, override.port):
                return True
    except ValueError:  # a bracketed host that is no IPv6 address, a port that is no number
        return False
    return parts.scheme == "https" and _SOPHOS_HOSTNAME.fullmatch(parts.hostname or "") is not None


def warn_about_override_once(name: str, api_host_override: str) -> None:
    """Say once per process and connection that the secret and token go to the override, not to Sophos."""
    with _warned_lock:
        first = (name, api_host_override) not in _warned_overrides
        _warned_overrides.add((name, api_host_override))
    if first:
        log.warning(
            "connection '%s': api_host_override %s is set: every call, with the client secret and the "
            "bearer token, goes there instead of Sophos's hosts (meant for a proxy you run, or a local stand-in "
            "for Sophos)",
            name,
            safe_url(api_host_override),
        )


def safe_url(url: str | httpx.URL) -> str:
    """The URL without user:password, which a proxy override may carry."""
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "(a URL that does not parse)"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
