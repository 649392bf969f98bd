"""One redaction for every URL, DSN and error text before it reaches a log, an event or a screen.

:func:`redact` masks, wherever they appear in a text:

* the user info of a URL (``scheme://user:password@host`` -> ``scheme://***@host``);
* the value of every query parameter, DSN keyword or ``name=value`` / ``"name": value`` pair
  whose name looks like a secret (password, passwd, pwd, token, secret, key, signature, sig,
  auth, credential, session): ``?password=x`` -> ``?password=***``;
* every configured secret value (:func:`register_secret`; the values of the environment
  variables a tenant's YAML names in ``auth_env``/``url_env``/``secret_env``, registered by
  :func:`register_tenant_secrets`), also in its URL-encoded form.

:func:`install` puts it in front of Python logging (a log-record factory), so a secret in any
log line of any library is masked before a handler, a Dagster event or a file sees it; code
that builds an error message, a report or a payload calls :func:`redact` itself.
:func:`escape_text` makes control characters (NUL, escape sequences) visible instead of letting
them reach a terminal.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "***"
_SECRET_WORDS = r"(?:pass(?:word|wd)?|pwd|token|secret|key|signature|sig|auth\w*|credential|" \
                r"session|apikey)"
#: scheme://userinfo@  (userinfo: anything but '/', whitespace or '@' up to the last '@')
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<info>[^/\s@'\"<>]+)@")
#: name=value / name: value / "name": "value" with a secret-looking name
_PAIR = re.compile(
    r"(?P<name>[\"']?[\w.\-]*" + _SECRET_WORDS + r"[\w\-]*[\"']?)(?P<sep>\s*[=:]\s*)"
    r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s&;,'\"#)\]}]+)",
    re.IGNORECASE)
_MIN_SECRET = 4
_secrets: set[str] = set()
_lock = threading.Lock()
_pattern: re.Pattern | None = None


def register_secret(value: str | None) -> None:
    """Mask ``value`` (and its URL-encoded and URL-parts forms) in everything redacted later."""
    global _pattern
    if not value or len(value) < _MIN_SECRET:
        return
    forms = {value, quote(value, safe=""), quote_plus(value), unquote(value)}
    try:
        u = urlsplit(value)
        if u.scheme and u.netloc:
            forms |= {u.password or "", unquote(u.password or "")}
            forms |= {v for part in u.query.split("&") for v in [part.partition("=")[2]]
                      if v}
    except ValueError:
        pass
    with _lock:
        before = len(_secrets)
        _secrets.update(f for f in forms if f and len(f) >= _MIN_SECRET)
        if len(_secrets) != before:
            _pattern = re.compile("|".join(re.escape(s) for s in
                                           sorted(_secrets, key=len, reverse=True)))


def register_env(name: str | None) -> None:
    """Register the value of environment variable ``name`` (a secret the YAML points at)."""
    if name:
        register_secret(os.environ.get(name))


def register_tenant_secrets(tenant) -> None:
    """Register the values of every environment variable a tenant's configuration names."""
    for source in getattr(tenant, "sources", {}).values():
        for attr in ("auth_env", "url_env"):
            register_env(getattr(source, attr, None))
    alerts = getattr(tenant, "alerts", None)
    for ch in getattr(alerts, "channels", {}).values() if alerts else []:
        for attr in ("url_env", "secret_env"):
            register_env(getattr(ch, attr, None))


def _register_secret_looking_env() -> None:
    """Environment variables named like secrets (``*_TOKEN``, ``*_PASSWORD``...) are secrets."""
    name_re = re.compile(_SECRET_WORDS, re.IGNORECASE)
    for k, v in os.environ.items():
        if name_re.search(k) and v and not k.startswith(("DAGSTER_", "PYTEST_")):
            register_secret(v)


def _mask_userinfo(m: re.Match) -> str:
    return f"{m.group('scheme')}{MASK}@"


def _mask_pair(m: re.Match) -> str:
    value = m.group("value")
    if value == MASK or value.strip("\"'") == MASK:
        return m.group(0)
    q = value[0] if value[0] in "\"'" and value[-1] == value[0] and len(value) > 1 else ""
    return f"{m.group('name')}{m.group('sep')}{q}{MASK}{q}"


def redact(text: object) -> str:
    """``text`` with user info, secret-named parameters and registered secrets masked."""
    s = text if isinstance(text, str) else str(text)
    if not s:
        return s
    pattern = _pattern
    if pattern is not None:
        s = pattern.sub(MASK, s)
    s = _USERINFO.sub(_mask_userinfo, s)
    return _PAIR.sub(_mask_pair, s)


def redact_obj(obj: object) -> object:
    """A copy of a JSON-like value with every string redacted (metadata, payloads)."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")


def escape_text(text: object) -> str:
    """``text`` with control/invisible characters shown as escapes (``\\x00``, ``\\x1b``)."""
    s = text if isinstance(text, str) else str(text)
    return _CONTROL.sub(lambda m: _ESCAPES.get(m.group(), m.group().encode(
        "unicode_escape").decode("ascii")), s)


_installed = False


def install() -> None:
    """Redact every log record's message from here on (idempotent).

    A record factory rather than a handler filter: it runs for every logger, including the
    ones Dagster and libraries create, before any handler formats or stores the record.
    """
    global _installed
    if _installed:
        return
    _installed = True
    _register_secret_looking_env()
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is the caller's bug, not ours
            return record
        clean = redact(msg)
        if clean != msg or record.args:
            record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(factory)
