"""REST API sources: paginated JSON pulled over HTTP, incrementally, as :class:`SourceUnit` s.

A tenant's YAML describes the API; nothing here is specific to one vendor::

    sources:
      erp_api:
        kind: api
        url: https://erp.example.com/api/v2/orders
        auth_env: ACME_ERP_TOKEN          # env var holding the token (sent as a Bearer header)
        records_path: data.items          # dotted path to the record list (omit: body is a list)
        cursor_field: updated_at          # incremental: the saved max is sent back next time
        pagination:
          style: cursor                   # none | page | offset | cursor | next_url
          cursor_param: cursor            # cursor style: query param carrying the next token
          next_cursor_path: meta.next     #   ... and where the response puts it
          size_param: limit
          page_size: 200
          since_param: updated_since      # query param for the saved cursor value
        entities: {...}

``pagination`` keys (all optional; see :class:`ApiOptions`): ``style``; ``page_param``,
``first_page`` (page style); ``offset_param`` (offset style, advanced by the records received);
``cursor_param``, ``next_cursor_path`` (cursor style); ``next_url_path`` (next_url style, falls
back to the ``Link: <...>; rel="next"`` header); ``size_param``, ``page_size``, ``total_path``,
``has_more_path`` (stop conditions); ``since_param``; ``params``, ``headers`` (static, no secrets);
``auth_header``, ``auth_scheme``; ``rows_per_unit``; ``max_pages``; ``timeout_seconds``,
``max_attempts``, ``backoff_seconds``, ``max_backoff_seconds`` (retries); ``cursor_sorted``.

Why httpx and our own loop rather than dlt's ``rest_client``: dlt's client is built on
``requests`` and takes its retry/backoff settings from dlt's global runtime configuration
(env/config providers), so per-source retry settings, tenant-naming errors and a refusal to send
the token to another origin would all have to be bolted on; the paginators are the easy part.
The option names follow dlt's paginators (``page_param``, ``cursor_param``, ``total_path``...)
so a source can move to dlt later without changing YAML meaning.

Units: pages are grouped up to ``rows_per_unit`` records; a unit keeps only its own pages in
memory (plus one page of look-ahead), so memory is bounded however long the pull is. Its
``content_hash`` is the sha256 of the canonical JSON of its records, so pulling the same page
twice is a ledger no-op.

Cursor: after the last unit of a pull has landed (every unit's ``on_landed`` called), the
maximum ``cursor_field`` value seen is saved per tenant and source in the operational store.
With ``cursor_sorted: true`` (the API returns records in ascending cursor order) it is saved
after every unit instead, so a crash half-way through a long backfill resumes where it stopped.
"""

from __future__ import annotations

import datetime as dt
import decimal
import email.utils
import hashlib
import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tenantlake.landing.errors import LandingConfigError, LandingError
from tenantlake.landing.sources.base import SourceUnit
from tenantlake.settings import Home
from tenantlake.tenants import Source, TenantConfig

log = logging.getLogger(__name__)

#: Statuses worth retrying: rate limited, or a server/gateway that may recover.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class ApiSourceError(LandingError):
    """A pull from a REST API failed; the message names tenant, source and URL (never the token)."""


class ApiSourceConfigError(LandingConfigError):
    """The ``pagination``/API settings of a tenant's source are invalid."""


# --------------------------------------------------------------------------- options


class ApiOptions(BaseModel):
    """Everything about an API source beyond url/auth_env/records_path/cursor_field.

    Lives in the source's free ``pagination`` dict because :class:`~tenantlake.tenants.Source`
    has no typed place for it; validated here with the same strictness (unknown keys refused).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    style: Literal["none", "page", "offset", "cursor", "next_url"] = "none"
    #: page style: query param of the page number, and the first page's number.
    page_param: str = "page"
    first_page: int = 1
    #: offset style: query param of the offset (advanced by the number of records received).
    offset_param: str = "offset"
    #: cursor style: query param carrying the token, and where the response holds the next one.
    cursor_param: str = "cursor"
    next_cursor_path: str = "next_cursor"
    #: next_url style: where the body holds the next page's URL (else the Link header).
    next_url_path: str = "next"
    #: Query param of the page size (not sent when unset) and the size asked for.
    size_param: str | None = None
    page_size: int | None = Field(default=None, ge=1)
    #: Optional stop signals: total record count, or a boolean "more pages" flag.
    total_path: str | None = None
    has_more_path: str | None = None
    #: Query param the saved cursor value is sent in (incremental pulls).
    since_param: str | None = None
    #: Static query params and headers sent on every request (never secrets: use auth_env).
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    #: How the token is sent: header name and scheme ("" sends the bare token, e.g. X-Api-Key).
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    #: Records per unit (one ledger entry / one batch); bounds memory.
    rows_per_unit: int = Field(default=10_000, ge=1)
    #: Safety stop: a pull that needs more pages than this fails instead of looping forever.
    max_pages: int = Field(default=10_000, ge=1)
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=20)
    backoff_seconds: float = Field(default=1.0, ge=0)
    max_backoff_seconds: float = Field(default=60.0, ge=0)
    #: Records arrive in ascending cursor order: save the cursor after every unit.
    cursor_sorted: bool = False


@dataclass(frozen=True)
class _Ctx:
    """Who is pulling what: every log line and error names tenant and source."""

    tenant_id: str
    source_name: str

    def where(self) -> str:
        return f"tenant {self.tenant_id!r}, source {self.source_name!r}"


def parse_options(source_name: str, source: Source, tenant: TenantConfig) -> ApiOptions:
    """Validate ``source.pagination`` into :class:`ApiOptions`; errors name tenant, source, key."""
    try:
        return ApiOptions.model_validate(source.pagination or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"pagination.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        known = ", ".join(ApiOptions.model_fields)
        raise ApiSourceConfigError(
            f"tenant {tenant.id!r}, source {source_name!r}: {problems} (known keys: {known})"
        ) from None


def _auth_headers(ctx: _Ctx, source: Source, opts: ApiOptions) -> dict[str, str]:
    """The auth header from the env var named by ``auth_env``; refuse to pull without it.

    Why fail instead of trying anonymously: an unset variable is a deployment mistake, and a
    401 from the API later would hide which variable was missing.
    """
    if not source.auth_env:
        return {}
    token = os.environ.get(source.auth_env)
    if not token:
        raise ApiSourceError(
            f"{ctx.where()}: environment variable {source.auth_env} (auth_env) is not set or "
            f"empty; export the API token in it before landing this tenant")
    value = f"{opts.auth_scheme} {token}" if opts.auth_scheme else token
    return {opts.auth_header: value}


# --------------------------------------------------------------------------- cursors


def load_cursor(home: Home, tenant_id: str, source_name: str) -> str | None:
    """The saved incremental cursor of one tenant's source (operational store)."""
    from tenantlake import store

    return store.get_cursor(tenant_id, source_name, url=home.store_url)


def save_cursor(home: Home, tenant_id: str, source_name: str, value: str) -> None:
    """Persist the cursor once the rows up to it are landed (called from ``on_landed``)."""
    from tenantlake import store

    store.set_cursor(tenant_id, source_name, value, url=home.store_url)


def cursor_to_text(value: Any) -> str:
    """How a cursor value is stored and sent back: ISO for datetimes, plain text otherwise."""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _cursor_sort_key(value: Any) -> tuple[int, Any]:
    """Order cursor values of mixed representation: numbers, then timestamps, then text.

    Why not compare raw values: APIs send ``"2024-05-01T10:00:00Z"`` while the stored cursor is
    text, and ``"9" > "10"`` as strings; ISO timestamps compare as instants (naive = UTC).
    """
    if isinstance(value, bool):
        return (2, str(value))
    if isinstance(value, (int, float, decimal.Decimal)):
        return (0, float(value))
    if isinstance(value, dt.datetime):
        return (1, value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc))
    if isinstance(value, dt.date):
        return (1, dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc))
    text = str(value)
    try:
        return (0, float(text))
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return (2, text)
    return (1, parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc))


def cursor_greater(a: Any, b: Any) -> bool:
    """``a > b`` for cursor values; values of different kinds compare as text."""
    ka, kb = _cursor_sort_key(a), _cursor_sort_key(b)
    if ka[0] != kb[0]:
        return str(a) > str(b)
    return ka[1] > kb[1]


# --------------------------------------------------------------------------- records -> frames


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces) so equal content always hashes equal."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_json_default)


def records_digest(records: Iterable[Any]) -> tuple[str, int]:
    """sha256 and byte size of the canonical JSON array of ``records``, built piecewise."""
    h = hashlib.sha256(b"[")
    size = 2
    for i, rec in enumerate(records):
        if i:
            h.update(b",")
            size += 1
        data = canonical_json(rec).encode("utf-8")
        h.update(data)
        size += len(data)
    h.update(b"]")
    return h.hexdigest(), size


def records_hash(records: Iterable[Any]) -> str:
    """sha256 of the canonical JSON array of ``records``: a unit's ``content_hash``."""
    return records_digest(records)[0]


def flatten_record(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become dotted columns (``customer.id``), so YAML can map them by name."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten_record(value, f"{name}."))
        else:
            out[name] = value
    return out


def _column_series(name: str, values: list[Any]) -> pl.Series:
    """One column with one type: JSON text for nested values, text for mixed types.

    Why: JSON records and SQLite rows may mix ``12`` and ``"12"`` in one field; polars would
    refuse or silently null them. Landing coerces text against the contract, with row numbers.
    """
    kinds = {type(v) for v in values if v is not None}
    if kinds & {dict, list, tuple}:
        values = [None if v is None else canonical_json(v) for v in values]
    elif kinds and kinds <= {int, float, decimal.Decimal} and len(kinds) > 1:
        values = [None if v is None else float(v) for v in values]
    elif len(kinds) > 1:
        values = [None if v is None else _as_text(v) for v in values]
    try:
        series = pl.Series(name, values)
        if series.dtype != pl.Object:
            return series
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
        pass
    # UUIDs, IP addresses, huge ints...: text is the one type landing can always coerce.
    return pl.Series(name, [None if v is None else _as_text(v) for v in values], pl.String)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (dict, list, tuple)):
        return canonical_json(value)
    return str(value)


def rows_to_frame(rows: list[dict[str, Any]], columns: list[str] | None = None) -> pl.DataFrame:
    """A frame from row dicts; columns in first-seen order (or ``columns``), missing -> null."""
    if columns is None:
        seen: dict[str, None] = {}
        for r in rows:
            for k in r:
                seen.setdefault(k, None)
        columns = list(seen)
    return pl.DataFrame([_column_series(c, [r.get(c) for r in rows]) for c in columns])


# --------------------------------------------------------------------------- HTTP


_MISSING: Any = object()


def dig(payload: Any, path: str | None, default: Any = None) -> Any:
    """Value at a dotted path (``data.items``, ``meta.0.next``).

    ``default`` when a step does not exist; None when a step exists but is null — so callers can
    tell a mistyped path (an error) from an API saying "nothing here" (an empty page).
    """
    if not path:
        return payload
    cur = payload
    for part in path.split("."):
        if isinstance(cur, dict):
            if part not in cur:
                return default
            cur = cur[part]
        elif isinstance(cur, list) and part.lstrip("-").isdigit():
            idx = int(part)
            if not -len(cur) <= idx < len(cur):
                return default
            cur = cur[idx]
        else:
            return default
        if cur is None:
            return None
    return cur


def _retry_after_seconds(resp: httpx.Response) -> float | None:
    """Seconds the server asked us to wait (``Retry-After`` as seconds or an HTTP date)."""
    raw = resp.headers.get("Retry-After")
    if not raw:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def _backoff(opts: ApiOptions, attempt: int) -> float:
    """Exponential backoff with jitter, so many tenants hitting one API do not retry in step."""
    base = min(opts.max_backoff_seconds, opts.backoff_seconds * 2 ** (attempt - 1))
    return base * (0.5 + random.random() / 2)


def _snippet(resp: httpx.Response) -> str:
    try:
        text = resp.text
    except Exception:  # noqa: BLE001 - undecodable body: nothing useful to show
        return ""
    text = " ".join(text.split())
    return f": {text[:200]}" if text else ""


@dataclass
class _Page:
    url: str
    payload: Any
    records: list[Any]
    nbytes: int
    links: dict[str, dict[str, str]]


def get_json(client: httpx.Client, ctx: _Ctx, opts: ApiOptions, url: str,
             params: dict[str, Any] | None, auth_env: str | None,
             sleep: Callable[[float], None] = time.sleep) -> tuple[Any, httpx.Response]:
    """GET ``url`` and decode JSON, retrying 429/5xx and transport errors with backoff.

    ``Retry-After`` wins over our own backoff (the server knows when it will take us back), but
    a wait longer than ``max_backoff_seconds`` fails instead of stalling the tenant's landing.
    """
    shown = str(httpx.URL(url, params=params)) if params else url
    for attempt in range(1, opts.max_attempts + 1):
        last = attempt == opts.max_attempts
        try:
            resp = client.get(url, params=params)
        except httpx.TransportError as exc:
            if last:
                raise ApiSourceError(
                    f"{ctx.where()}: GET {shown} failed after {attempt} attempts: "
                    f"{type(exc).__name__}: {exc}") from None
            wait = _backoff(opts, attempt)
            log.warning("tenant_id=%s source=%s: GET %s: %s; retry %d/%d in %.2fs",
                        ctx.tenant_id, ctx.source_name, shown, type(exc).__name__, attempt,
                        opts.max_attempts - 1, wait)
            sleep(wait)
            continue
        status = resp.status_code
        if status in RETRY_STATUSES:
            if last:
                raise ApiSourceError(
                    f"{ctx.where()}: GET {shown} still answered HTTP {status} after "
                    f"{attempt} attempts{_snippet(resp)}")
            asked = _retry_after_seconds(resp)
            if asked is not None and asked > opts.max_backoff_seconds:
                raise ApiSourceError(
                    f"{ctx.where()}: GET {shown} answered HTTP {status} with Retry-After "
                    f"{asked:.0f}s, longer than max_backoff_seconds={opts.max_backoff_seconds}; "
                    "try again later or raise pagination.max_backoff_seconds")
            wait = asked if asked is not None else _backoff(opts, attempt)
            log.warning("tenant_id=%s source=%s: GET %s -> HTTP %d; retry %d/%d in %.2fs",
                        ctx.tenant_id, ctx.source_name, shown, status, attempt,
                        opts.max_attempts - 1, wait)
            sleep(wait)
            continue
        if status in (401, 403):
            raise ApiSourceError(
                f"{ctx.where()}: GET {shown} was refused with HTTP {status} "
                f"({'unauthorized' if status == 401 else 'forbidden'}); "
                + (f"check that environment variable {auth_env} holds a valid token"
                   if auth_env else "the source has no auth_env: set it to the name of the "
                   "environment variable holding the API token"))
        if status >= 400:
            raise ApiSourceError(f"{ctx.where()}: GET {shown} failed with HTTP {status}"
                                 f"{_snippet(resp)}")
        try:
            return resp.json(), resp
        except ValueError:
            raise ApiSourceError(
                f"{ctx.where()}: GET {shown} did not return JSON (Content-Type "
                f"{resp.headers.get('content-type', '?')!r}){_snippet(resp)}") from None
    raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises


def _extract_records(ctx: _Ctx, url: str, payload: Any, records_path: str | None) -> list[Any]:
    """The record list of one page, or an error saying where the list should have been."""
    records = dig(payload, records_path, default=_MISSING)
    if records is None:
        return []
    if records is _MISSING or not isinstance(records, list):
        keys = ", ".join(map(str, payload)) if isinstance(payload, dict) else type(payload).__name__
        where = f"at records_path {records_path!r}" if records_path else "as the response body"
        raise ApiSourceError(
            f"{ctx.where()}: GET {url}: expected a list of records {where}, got "
            f"{'nothing' if records is _MISSING else type(records).__name__} "
            f"(top-level: {keys}); set records_path to the dotted path of the record list, "
            "e.g. data.items")
    bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
    if bad is not None:
        raise ApiSourceError(f"{ctx.where()}: GET {url}: record {bad + 1} is "
                             f"{type(records[bad]).__name__}, not a JSON object")
    return records


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def _next_link(ctx: _Ctx, current: str, page: _Page, opts: ApiOptions) -> str | None:
    """The next page URL from the body (``next_url_path``) or the ``Link`` header.

    Refused when it points at another origin: following it would send the tenant's token to a
    host the YAML never named.
    """
    nxt = dig(page.payload, opts.next_url_path)
    if not nxt:
        link = page.links.get("next")
        nxt = link.get("url") if link else None
    if not nxt:
        return None
    if not isinstance(nxt, str):
        raise ApiSourceError(f"{ctx.where()}: GET {current}: next_url_path "
                             f"{opts.next_url_path!r} holds {type(nxt).__name__}, not a URL")
    cur = httpx.URL(current)
    target = cur.join(nxt)
    if not _same_origin(cur, target):
        raise ApiSourceError(
            f"{ctx.where()}: GET {current}: next page link {target} is on another origin; "
            "refusing to send the token there")
    return str(target)


def _as_count(ctx: _Ctx, url: str, path: str | None, value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiSourceError(f"{ctx.where()}: GET {url}: total_path {path!r} holds {value!r}, "
                             "not a record count") from None


def _origin_guard(ctx: _Ctx, source_url: str) -> Callable[[httpx.Request], None]:
    """A request hook refusing any request (redirects included) off the source's origin.

    Why: httpx drops ``Authorization`` on cross-origin redirects but not a custom
    ``auth_header`` such as ``X-Api-Key``; checking every outgoing request covers both.
    """
    home_origin = httpx.URL(source_url)

    def check(request: httpx.Request) -> None:
        if not _same_origin(home_origin, request.url):
            raise ApiSourceError(
                f"{ctx.where()}: {source_url} led to {request.url}, another origin; refusing to "
                "send the token there")
    return check


def iter_pages(client: httpx.Client, ctx: _Ctx, source: Source, opts: ApiOptions,
               since: str | None, sleep: Callable[[float], None] = time.sleep) -> Iterator[_Page]:
    """Every non-empty page of one pull, following the configured pagination style.

    Stops on an empty page, a missing next token/link, a short page (when ``page_size`` is
    known), ``total_path`` reached or ``has_more_path`` false; fails on a repeated token/link or
    after ``max_pages`` (a server that never stops must not hang the landing).
    """
    assert source.url
    base: dict[str, Any] = dict(opts.params)
    if opts.size_param and opts.page_size:
        base[opts.size_param] = opts.page_size
    if since is not None and opts.since_param:
        base[opts.since_param] = since
    url: str = source.url
    page_no, offset, received = opts.first_page, 0, 0
    token: Any = None
    seen: set[str] = set()
    for n in range(1, opts.max_pages + 1):
        params = dict(base)
        if opts.style == "page":
            params[opts.page_param] = page_no
        elif opts.style == "offset":
            params[opts.offset_param] = offset
        elif opts.style == "cursor" and token is not None:
            params[opts.cursor_param] = token
        elif opts.style == "next_url" and n > 1:
            params = {}  # the link carries its own query
        payload, resp = get_json(client, ctx, opts, url, params or None, source.auth_env, sleep)
        shown = str(resp.request.url)
        records = _extract_records(ctx, shown, payload, source.records_path)
        page = _Page(shown, payload, records, len(resp.content), resp.links)
        log.info("tenant_id=%s source=%s: GET %s -> %d records", ctx.tenant_id,
                 ctx.source_name, shown, len(records))
        if not records:
            return
        yield page
        received += len(records)
        if opts.has_more_path is not None and not dig(payload, opts.has_more_path):
            return
        total = dig(payload, opts.total_path) if opts.total_path else None
        if total is not None and received >= _as_count(ctx, shown, opts.total_path, total):
            return
        if opts.style == "none":
            return
        if opts.style in ("page", "offset"):
            if opts.page_size and len(records) < opts.page_size:
                return
            page_no += 1
            offset += len(records)
            continue
        if opts.style == "cursor":
            token = dig(payload, opts.next_cursor_path)
            key = str(token)
        else:
            token = _next_link(ctx, shown, page, opts)
            key = str(token)
            if token is not None:
                url = token
        if token in (None, ""):
            return
        if key in seen:
            raise ApiSourceError(
                f"{ctx.where()}: GET {shown}: the server returned the same next "
                f"{'cursor' if opts.style == 'cursor' else 'link'} twice ({key!r}); stopping "
                "instead of looping")
        seen.add(key)
    raise ApiSourceError(
        f"{ctx.where()}: {source.url}: more than max_pages={opts.max_pages} pages in one pull; "
        "raise pagination.max_pages or check that the pagination settings make the API stop")


# --------------------------------------------------------------------------- units


class CursorProgress:
    """Which units of one pull have landed, and so how far the cursor may move.

    Why not "save the unit's max in its ``on_landed``": landing goes on with later units after
    one fails, and a cursor saved past a failed unit would skip its rows forever. So the cursor
    only covers the landed *prefix* of the pull: with ``sorted_units`` (rows arrive in cursor
    order) the max of that prefix; otherwise only once every unit, up to the one known to be
    last, has landed.
    """

    def __init__(self, saved: str | None, sorted_units: bool) -> None:
        self.saved = saved
        self.sorted_units = sorted_units
        self._tops: list[Any] = []
        self._landed: list[bool] = []
        self._last: int | None = None

    def add_unit(self, top: Any, is_last: bool = False) -> int:
        """Register a unit (its max cursor value) before it is yielded; returns its index."""
        self._tops.append(top)
        self._landed.append(False)
        if is_last:
            self._last = len(self._tops) - 1
        return len(self._tops) - 1

    def landed(self, index: int) -> str | None:
        """Mark a unit landed; return the cursor text to save now, or None."""
        self._landed[index] = True
        prefix = next((i for i, done in enumerate(self._landed) if not done), len(self._landed))
        if not self.sorted_units and (self._last is None or prefix <= self._last):
            return None
        top: Any = None
        for value in self._tops[:prefix]:
            if value is not None and (top is None or cursor_greater(value, top)):
                top = value
        if top is None or (self.saved is not None and not cursor_greater(top, self.saved)):
            return None
        self.saved = cursor_to_text(top)
        return self.saved


def _record_cursor(ctx: _Ctx, url: str, record: dict[str, Any], cursor_field: str,
                   index: int) -> Any:
    value = dig(record, cursor_field, default=_MISSING)
    if value is _MISSING:
        raise ApiSourceError(
            f"{ctx.where()}: GET {url}: record {index + 1} has no cursor_field "
            f"{cursor_field!r} (fields: {', '.join(map(str, record))})")
    return value


def _filter_page(ctx: _Ctx, page: _Page, source: Source, opts: ApiOptions,
                 since: str | None) -> tuple[list[dict[str, Any]], Any]:
    """Drop records the saved cursor already covers; return the rest and their max cursor.

    With ``since_param`` the server filters and we only drop records strictly older than the
    cursor (its ``since`` may be inclusive: equal rows re-land, and staging dedups them by key).
    Without it the API returns everything, so records up to and including the cursor are dropped
    here.
    """
    if not source.cursor_field:
        return page.records, None
    kept: list[dict[str, Any]] = []
    top: Any = None
    for i, rec in enumerate(page.records):
        value = _record_cursor(ctx, page.url, rec, source.cursor_field, i)
        if since is not None and value is not None:
            if opts.since_param:
                if cursor_greater(since, value):
                    continue
            elif not cursor_greater(value, since):
                continue
        kept.append(rec)
        if value is not None and (top is None or cursor_greater(value, top)):
            top = value
    return kept, top


def _group_pages(pages: Iterator[tuple[_Page, list[dict[str, Any]], Any]],
                 rows_per_unit: int) -> Iterator[tuple[list[tuple[_Page, list, Any]], bool]]:
    """Group filtered pages into units of about ``rows_per_unit`` records; flag the last one.

    One page of look-ahead tells whether a group is the pull's last, which is when a
    non-sorted API's cursor may be saved. Pages whose records were all filtered out are skipped
    before the look-ahead, so they can never hide the last unit.
    """
    pages = (p for p in pages if p[1])
    group: list[tuple[_Page, list, Any]] = []
    rows = 0
    nxt = next(pages, None)
    while nxt is not None:
        current, nxt = nxt, next(pages, None)
        group.append(current)
        rows += len(current[1])
        if group and (rows >= rows_per_unit or nxt is None):
            yield group, nxt is None
            group, rows = [], 0


def _make_unit(ctx: _Ctx, group: list[tuple[_Page, list, Any]], is_last: bool,
               progress: CursorProgress, home: Home) -> SourceUnit:
    """One unit: its pages' records as frames, hash, and the cursor bookkeeping on landing."""
    records = [r for _, recs, _ in group for r in recs]
    unit_max: Any = None
    for _, _, top in group:
        if top is not None and (unit_max is None or cursor_greater(top, unit_max)):
            unit_max = top
    first = group[0][0].url
    label = f"GET {first}" + (f" (+{len(group) - 1} more pages)" if len(group) > 1 else "")
    pages = [recs for _, recs, _ in group]
    index = progress.add_unit(unit_max, is_last)

    def frames() -> Iterator[tuple[int, pl.DataFrame]]:
        row = 1
        for recs in pages:
            yield row, rows_to_frame([flatten_record(r) for r in recs])
            row += len(recs)

    def on_landed() -> None:
        value = progress.landed(index)
        if value is not None:
            save_cursor(home, ctx.tenant_id, ctx.source_name, value)
            log.info("tenant_id=%s source=%s: cursor saved at %s", ctx.tenant_id,
                     ctx.source_name, value)

    return SourceUnit(label=label, content_hash=records_hash(records), frames=frames,
                      on_landed=on_landed, size_bytes=sum(p.nbytes for p, _, _ in group))


def iter_api_units(source_name: str, source: Source, tenant: TenantConfig, home: Home,
                   *, sleep: Callable[[float], None] = time.sleep,
                   transport: httpx.BaseTransport | None = None) -> Iterator[SourceUnit]:
    """Pull one tenant's API source page by page and yield it as units (see module docs).

    ``sleep`` and ``transport`` exist for embedding (a proxy, a recorded transport); landing
    passes neither.
    """
    ctx = _Ctx(tenant.id, source_name)
    if source.kind != "api" or not source.url:
        raise ApiSourceConfigError(f"{ctx.where()}: not an api source with a url")
    opts = parse_options(source_name, source, tenant)
    if source.cursor_field and source.pagination is not None and not opts.since_param:
        log.info("tenant_id=%s source=%s: no pagination.since_param; filtering by %s "
                 "client-side", ctx.tenant_id, source_name, source.cursor_field)
    headers = {"Accept": "application/json", **opts.headers, **_auth_headers(ctx, source, opts)}
    since = load_cursor(home, tenant.id, source_name) if source.cursor_field else None
    progress = CursorProgress(since, sorted_units=opts.cursor_sorted)
    with httpx.Client(headers=headers, timeout=opts.timeout_seconds, follow_redirects=True,
                      transport=transport,
                      event_hooks={"request": [_origin_guard(ctx, source.url)]}) as client:
        filtered = ((p, *_filter_page(ctx, p, source, opts, since))
                    for p in iter_pages(client, ctx, source, opts, since, sleep))
        for group, is_last in _group_pages(filtered, opts.rows_per_unit):
            yield _make_unit(ctx, group, is_last, progress, home)
