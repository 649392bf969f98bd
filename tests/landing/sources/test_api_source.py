"""REST API source against a real HTTP server on 127.0.0.1 (see conftest.FakeApi)."""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from typing import Any

import httpx
import polars as pl
import pytest
from .fake_api_server import TOKEN, FakeApi, make_orders
from .source_helpers import ORDERS, land, tenant_with_source

from tenantlake import store
from tenantlake.landing.sources.api import (
    ApiSourceConfigError,
    ApiSourceError,
    _retry_after_seconds,
    cursor_greater,
    dig,
    flatten_record,
    iter_api_units,
    records_hash,
    rows_to_frame,
)
from tenantlake.settings import Home
from tenantlake.tenants import Source, TenantConfig

FAST = {"backoff_seconds": 0.001, "max_backoff_seconds": 2, "timeout_seconds": 5}

STYLES: dict[str, tuple[str, str | None, dict[str, Any]]] = {
    "page": ("/page/orders", "data.items",
             {"style": "page", "size_param": "per_page", "page_size": 5}),
    "offset": ("/offset/orders", "results",
               {"style": "offset", "size_param": "limit", "page_size": 6, "total_path": "total"}),
    "cursor": ("/cursor/orders", "items",
               {"style": "cursor", "cursor_param": "cursor", "next_cursor_path": "next_cursor",
                "size_param": "limit", "page_size": 7}),
    "next_url": ("/next/orders", "results", {"style": "next_url", "next_url_path": "next"}),
    "link_header": ("/link/orders", None, {"style": "next_url"}),
    "single": ("/single/orders", None, {"style": "none"}),
}


def tenant(api: FakeApi, path: str, records_path: str | None, pagination: dict[str, Any],
           tenant_id: str = "acme", **extra: Any) -> tuple[TenantConfig, Source]:
    src = {"kind": "api", "url": api.base_url + path, "auth_env": "ACME_API_TOKEN",
           "records_path": records_path, "pagination": {**FAST, **pagination},
           "entities": ORDERS, **extra}
    return tenant_with_source(src, tenant_id, source_name="erp_api")


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_API_TOKEN", TOKEN)


@pytest.mark.parametrize("style", list(STYLES))
def test_every_pagination_style_pulls_every_record_once(style: str, fake_api: FakeApi,
                                                        tl_home: Home) -> None:
    fake_api.records = make_orders(23)
    path, records_path, pagination = STYLES[style]
    cfg, src = tenant(fake_api, path, records_path, pagination)

    units, df = land(iter_api_units("erp_api", src, cfg, tl_home))

    assert df["id"].to_list() == [r["id"] for r in make_orders(23)]
    assert "customer.id" in df.columns  # nested objects flattened for the YAML mapping
    assert df["amount"].dtype == pl.Float64
    assert all(u.label.startswith(f"GET {fake_api.base_url}{path}") for u in units)
    if style != "single":
        assert len(fake_api.hits(path)) > 1
    # The bearer token reached the server on every request.
    assert all(h.get("Authorization") == f"Bearer {TOKEN}" for _, _, h in fake_api.requests)


def test_pages_group_into_units_up_to_the_row_budget(fake_api: FakeApi, tl_home: Home) -> None:
    fake_api.records = make_orders(23)
    cfg, src = tenant(fake_api, "/page/orders", "data.items",
                      {"style": "page", "size_param": "per_page", "page_size": 5,
                       "rows_per_unit": 10})

    units, _ = land(iter_api_units("erp_api", src, cfg, tl_home))

    assert [sum(f.height for _, f in u.frames()) for u in units] == [10, 10, 3]
    assert units[0].content_hash == records_hash(make_orders(10))
    assert "(+1 more pages)" in units[0].label
    assert all(u.size_bytes > 0 for u in units)
    # Same content, same hashes: re-pulling a full export is a ledger no-op.
    again = list(iter_api_units("erp_api", src, cfg, tl_home))
    assert [u.content_hash for u in again] == [u.content_hash for u in units]


def test_429_and_503_are_retried_with_backoff(fake_api: FakeApi, tl_home: Home) -> None:
    fake_api.records = make_orders(12)
    fake_api.fail_next("/page/orders", 429, times=2, headers={"Retry-After": "0"})
    fake_api.fail_next("/page/orders", 503, times=2)
    cfg, src = tenant(fake_api, "/page/orders", "data.items",
                      {"style": "page", "size_param": "per_page", "page_size": 5})

    _, df = land(iter_api_units("erp_api", src, cfg, tl_home))

    assert df.height == 12
    # 4 failures on page 1, then pages 1, 2, 3 (short page ends the pull).
    assert [q["page"] for q in fake_api.hits("/page/orders")] == ["1"] * 5 + ["2", "3"]


def test_retry_after_seconds_is_honoured(fake_api: FakeApi, tl_home: Home) -> None:
    fake_api.records = make_orders(3)
    fake_api.fail_next("/single/orders", 429, headers={"Retry-After": "1"})
    cfg, src = tenant(fake_api, "/single/orders", None, {"style": "none"})

    started = time.monotonic()
    _, df = land(iter_api_units("erp_api", src, cfg, tl_home))

    assert df.height == 3
    assert time.monotonic() - started >= 0.9


def test_retries_are_bounded_and_the_error_names_tenant_source_and_url(
        fake_api: FakeApi, tl_home: Home) -> None:
    fake_api.fail_next("/single/orders", 503, times=10)
    cfg, src = tenant(fake_api, "/single/orders", None, {"style": "none", "max_attempts": 3})

    with pytest.raises(ApiSourceError) as exc:
        list(iter_api_units("erp_api", src, cfg, tl_home))

    msg = str(exc.value)
    assert "'acme'" in msg and "'erp_api'" in msg and f"{fake_api.base_url}/single/orders" in msg
    assert "HTTP 503 after 3 attempts" in msg
    assert len(fake_api.hits("/single/orders")) == 3


def test_a_retry_after_longer_than_allowed_fails_instead_of_stalling(
        fake_api: FakeApi, tl_home: Home) -> None:
    fake_api.fail_next("/single/orders", 429, headers={"Retry-After": "3600"})
    cfg, src = tenant(fake_api, "/single/orders", None, {"style": "none"})

    with pytest.raises(ApiSourceError, match="Retry-After 3600s"):
        list(iter_api_units("erp_api", src, cfg, tl_home))


@pytest.mark.parametrize("since_param", ["updated_since", None])
def test_second_pull_returns_only_new_rows_and_cursor_is_per_tenant(
        since_param: str | None, fake_api: FakeApi, tl_home: Home) -> None:
    fake_api.records = make_orders(10)
    pagination = {"style": "page", "size_param": "per_page", "page_size": 4}
    if since_param:
        pagination["since_param"] = since_param
    acme, acme_src = tenant(fake_api, "/page/orders", "data.items", pagination,
                            cursor_field="updated_at")
    beta, beta_src = tenant(fake_api, "/page/orders", "data.items", pagination,
                            tenant_id="beta", cursor_field="updated_at")

    _, first = land(iter_api_units("erp_api", acme_src, acme, tl_home))
    assert first.height == 10
    saved = store.get_cursor("acme", "erp_api", url=tl_home.store_url)
    assert saved == make_orders(10)[-1]["updated_at"]

    fake_api.records += make_orders(5, start=11)
    fake_api.requests.clear()
    _, second = land(iter_api_units("erp_api", acme_src, acme, tl_home))

    assert second["id"].to_list() == ["O0011", "O0012", "O0013", "O0014", "O0015"]
    if since_param:
        assert fake_api.hits("/page/orders")[0][since_param] == saved
    assert store.get_cursor("acme", "erp_api", url=tl_home.store_url) == \
        make_orders(15)[-1]["updated_at"]

    # Another tenant with a source of the same name starts from scratch.
    assert store.get_cursor("beta", "erp_api", url=tl_home.store_url) is None
    _, beta_rows = land(iter_api_units("erp_api", beta_src, beta, tl_home))
    assert beta_rows.height == 15

    # Nothing new: no units, cursor unchanged.
    assert list(iter_api_units("erp_api", acme_src, acme, tl_home)) == []


def test_cursor_is_saved_only_after_every_unit_landed(fake_api: FakeApi, tl_home: Home) -> None:
    fake_api.records = make_orders(9)
    cfg, src = tenant(fake_api, "/page/orders", "data.items",
                      {"style": "page", "size_param": "per_page", "page_size": 3,
                       "rows_per_unit": 3, "since_param": "updated_since"},
                      cursor_field="updated_at")

    units = list(iter_api_units("erp_api", src, cfg, tl_home))
    assert len(units) == 3
    units[0].on_landed()
    units[1].on_landed()
    # The last unit did not land (crash): the next pull must start from scratch.
    assert store.get_cursor("acme", "erp_api", url=tl_home.store_url) is None
    units[2].on_landed()
    assert store.get_cursor("acme", "erp_api", url=tl_home.store_url) == \
        make_orders(9)[-1]["updated_at"]


def test_cursor_sorted_saves_progress_after_each_unit(fake_api: FakeApi, tl_home: Home) -> None:
    fake_api.records = make_orders(6)
    cfg, src = tenant(fake_api, "/page/orders", "data.items",
                      {"style": "page", "size_param": "per_page", "page_size": 3,
                       "rows_per_unit": 3, "since_param": "updated_since",
                       "cursor_sorted": True}, cursor_field="updated_at")

    units = iter_api_units("erp_api", src, cfg, tl_home)
    next(units).on_landed()

    assert store.get_cursor("acme", "erp_api", url=tl_home.store_url) == \
        make_orders(3)[-1]["updated_at"]
    units.close()


def test_a_failed_unit_stops_a_sorted_cursor_even_if_later_units_land(
        fake_api: FakeApi, tl_home: Home) -> None:
    fake_api.records = make_orders(9)
    cfg, src = tenant(fake_api, "/page/orders", "data.items",
                      {"style": "page", "size_param": "per_page", "page_size": 3,
                       "rows_per_unit": 3, "since_param": "updated_since",
                       "cursor_sorted": True}, cursor_field="updated_at")

    units = list(iter_api_units("erp_api", src, cfg, tl_home))
    units[0].on_landed()
    units[2].on_landed()  # unit 2 failed in landing: the cursor must stay after unit 1

    assert store.get_cursor("acme", "erp_api", url=tl_home.store_url) == \
        make_orders(3)[-1]["updated_at"]


def test_missing_token_env_var_fails_before_any_request(
        fake_api: FakeApi, tl_home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACME_API_TOKEN")
    cfg, src = tenant(fake_api, "/single/orders", None, {"style": "none"})

    with pytest.raises(ApiSourceError) as exc:
        list(iter_api_units("erp_api", src, cfg, tl_home))

    assert "ACME_API_TOKEN" in str(exc.value) and "'acme'" in str(exc.value)
    assert fake_api.requests == []


def test_401_names_the_env_var_and_never_the_token(
        fake_api: FakeApi, tl_home: Home, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("ACME_API_TOKEN", "wrong-token-123")
    cfg, src = tenant(fake_api, "/single/orders", None, {"style": "none"})

    with caplog.at_level("DEBUG"), pytest.raises(ApiSourceError) as exc:
        list(iter_api_units("erp_api", src, cfg, tl_home))

    msg = str(exc.value)
    assert "HTTP 401" in msg and "ACME_API_TOKEN" in msg and "'erp_api'" in msg
    assert "wrong-token-123" not in msg and "wrong-token-123" not in caplog.text
    assert len(fake_api.requests) == 1  # 401 is not retried


def test_custom_auth_header_without_scheme(fake_api: FakeApi, tl_home: Home) -> None:
    fake_api.token = None
    fake_api.records = make_orders(2)
    cfg, src = tenant(fake_api, "/single/orders", None,
                      {"style": "none", "auth_header": "X-Api-Key", "auth_scheme": ""})

    land(iter_api_units("erp_api", src, cfg, tl_home))

    assert fake_api.requests[0][2].get("X-Api-Key") == TOKEN


def test_wrong_records_path_is_a_clear_error(fake_api: FakeApi, tl_home: Home) -> None:
    fake_api.records = make_orders(2)
    cfg, src = tenant(fake_api, "/page/orders", "data.rows", {"style": "page"})

    with pytest.raises(ApiSourceError, match=r"records_path 'data.rows'.*top-level: data, meta"):
        list(iter_api_units("erp_api", src, cfg, tl_home))


def test_next_link_to_another_origin_is_refused(fake_api: FakeApi, tl_home: Home) -> None:
    fake_api.records = make_orders(9)
    cfg, src = tenant(fake_api, "/evil/orders", "results", {"style": "next_url"})

    with pytest.raises(ApiSourceError, match="another origin"):
        list(iter_api_units("erp_api", src, cfg, tl_home))


def test_same_origin_redirects_are_followed_but_never_to_another_origin(
        fake_api: FakeApi, tl_home: Home) -> None:
    fake_api.token = None
    fake_api.records = make_orders(2)
    options = {"style": "none", "auth_header": "X-Api-Key", "auth_scheme": ""}
    cfg, src = tenant(fake_api, "/moved/orders", None, options)
    _, df = land(iter_api_units("erp_api", src, cfg, tl_home))
    assert df.height == 2

    cfg, src = tenant(fake_api, "/moved/away", None, options)
    fake_api.requests.clear()
    with pytest.raises(ApiSourceError, match="another origin"):
        list(iter_api_units("erp_api", src, cfg, tl_home))
    # The redirect target (localhost: another origin) never received the key.
    assert [p for p, _, _ in fake_api.requests] == ["/moved/away"]


def test_a_server_repeating_its_cursor_does_not_loop(fake_api: FakeApi, tl_home: Home) -> None:
    fake_api.records = make_orders(5)
    cfg, src = tenant(fake_api, "/loop/orders", "items", {"style": "cursor"})

    with pytest.raises(ApiSourceError, match="same next cursor twice"):
        list(iter_api_units("erp_api", src, cfg, tl_home))
    assert len(fake_api.hits("/loop/orders")) == 2


def test_max_pages_bounds_a_pull(fake_api: FakeApi, tl_home: Home) -> None:
    fake_api.records = make_orders(20)
    cfg, src = tenant(fake_api, "/page/orders", "data.items",
                      {"style": "page", "size_param": "per_page", "page_size": 2,
                       "max_pages": 3})

    with pytest.raises(ApiSourceError, match="max_pages=3"):
        list(iter_api_units("erp_api", src, cfg, tl_home))


def test_unknown_pagination_key_is_refused(fake_api: FakeApi, tl_home: Home) -> None:
    cfg, src = tenant(fake_api, "/page/orders", "data.items", {"style": "page", "pag_size": 5})

    with pytest.raises(ApiSourceConfigError, match=r"'acme'.*pagination.pag_size"):
        list(iter_api_units("erp_api", src, cfg, tl_home))


def test_records_missing_the_cursor_field_are_an_error(fake_api: FakeApi, tl_home: Home) -> None:
    fake_api.records = make_orders(2)
    cfg, src = tenant(fake_api, "/single/orders", None, {"style": "none"},
                      cursor_field="modified")

    with pytest.raises(ApiSourceError, match="record 1 has no cursor_field 'modified'"):
        list(iter_api_units("erp_api", src, cfg, tl_home))


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(("a", "b", "greater"), [
    ("2024-05-01T10:00:00Z", "2024-05-01T09:59:59+00:00", True),
    ("2024-05-01T10:00:00+02:00", "2024-05-01T09:00:00Z", False),  # 08:00Z < 09:00Z
    ("10", "9", True),  # numbers, not text
    (10, "9", True),
    ("b", "a", True),
])
def test_cursor_values_compare_by_meaning(a: Any, b: Any, greater: bool) -> None:
    assert cursor_greater(a, b) is greater


def test_dig_tells_missing_from_null() -> None:
    payload = {"data": {"items": [1, 2]}, "meta": None, "pages": [{"next": "x"}]}
    assert dig(payload, "data.items") == [1, 2]
    assert dig(payload, "pages.0.next") == "x"
    assert dig(payload, "meta.next", default="missing") is None
    assert dig(payload, "data.rows", default="missing") == "missing"


def test_mixed_json_values_become_one_type_per_column() -> None:
    frame = rows_to_frame([flatten_record({"a": 1, "b": "x", "c": {"d": [1, 2]}}),
                           flatten_record({"a": 2.5, "b": 3, "e": True})])
    assert frame.columns == ["a", "b", "c.d", "e"]
    assert frame.schema["a"] == pl.Float64 and frame.schema["b"] == pl.String
    assert frame["c.d"].to_list() == ["[1,2]", None]
    assert frame["b"].to_list() == ["x", "3"]


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    soon = email.utils.format_datetime(dt.datetime.now(dt.timezone.utc)
                                       + dt.timedelta(seconds=30), usegmt=True)
    assert _retry_after_seconds(httpx.Response(429, headers={"Retry-After": "7"})) == 7
    assert 25 < _retry_after_seconds(httpx.Response(429, headers={"Retry-After": soon})) <= 30
    assert _retry_after_seconds(httpx.Response(429)) is None
