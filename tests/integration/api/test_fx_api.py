"""POST/GET /api/v1/fx/rates: the operator's exchange rates through the REST API, with the
rules of ``hoplink fx import`` (every bad row named, nothing half-stored)."""

from __future__ import annotations

from decimal import Decimal

from api_client import Api, assert_problem
from hoplink.accounts.apikeys import create_api_key
from hoplink.accounts.models import Scope
from hoplink.conversions.rates import latest_rates
from hoplink.errors import InvalidInput

CSV = {"Content-Type": "text/csv"}


async def _stored(api: Api) -> list[tuple[str, str, str, Decimal]]:
    async with api.db.transaction(write=False) as tx:
        return sorted((d.isoformat(), b, q, r) for d, b, q, r in await latest_rates(tx))


async def _operator(api: Api) -> dict[str, str]:
    _, headers = await api.tenant("Platform Ops", frozenset({Scope.RATES_WRITE}))
    return headers


async def test_csv_upload_stores_and_a_day_given_again_replaces_it(api: Api) -> None:
    h = await _operator(api)
    body = "date,base,quote,rate\n2026-11-01,USD,CNY,7.12\n2026-11-02,eur,usd,1.08\n"
    r = await api.http.post("/api/v1/fx/rates", content=body, headers=h | CSV)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "stored": 2,
        "days": 2,
        "first_day": "2026-11-01",
        "last_day": "2026-11-02",
    }
    r = await api.http.post("/api/v1/fx/rates", content="2026-11-01,USD,CNY,7.2\n", headers=h | CSV)
    assert r.status_code == 200, r.text
    assert await _stored(api) == [
        ("2026-11-01", "USD", "CNY", Decimal("7.2")),
        ("2026-11-02", "EUR", "USD", Decimal("1.08")),
    ]
    listed = await api.http.get("/api/v1/fx/rates", params={"limit": 1}, headers=h)
    assert listed.status_code == 200
    assert listed.json() == [{"date": "2026-11-02", "base": "EUR", "quote": "USD", "rate": "1.08"}]


async def test_json_upload_takes_strings_and_numbers(api: Api) -> None:
    h = await _operator(api)
    rates = [
        {"date": "2026-11-03", "base": "USD", "quote": "JPY", "rate": "151.25"},
        {"date": "2026-11-03", "base": "USD", "quote": "SGD", "rate": 1.34},
    ]
    r = await api.http.post("/api/v1/fx/rates", json={"rates": rates}, headers=h)
    assert r.status_code == 200, r.text
    assert await _stored(api) == [
        ("2026-11-03", "USD", "JPY", Decimal("151.25")),
        ("2026-11-03", "USD", "SGD", Decimal("1.34")),
    ]


async def test_bad_rows_are_named_and_nothing_is_stored(api: Api) -> None:
    h = await _operator(api)
    body = "2026-11-01,USD,CNY,7.12\n2026-13-01,USD,CNY,7\n2026-11-02,USD,XYZ,1\n"
    r = await api.http.post("/api/v1/fx/rates", content=body, headers=h | CSV)
    problem = assert_problem(r, 422, "invalid_input", "rows.2.date")
    assert {e["field"] for e in problem["errors"]} == {"rows.2.date", "rows.3.currency"}
    cases = [
        (
            {"rates": [{"date": "2026-11-01", "base": "USD", "quote": "USD", "rate": "1"}]},
            "rates.0.quote",
        ),
        (
            {"rates": [{"date": "2026-11-01", "base": "USD", "quote": "CNY", "rate": "-7"}]},
            "rates.0.rate",
        ),
        (
            {"rates": [{"date": "2026-11-01", "base": "USD", "quote": "CNY", "rate": "NaN"}]},
            "rates.0.rate",
        ),
        (
            {"rates": [{"date": "2026-11-01", "base": "USD", "quote": "CNY", "rate": True}]},
            "rates.0.rate",
        ),
        (
            {"rates": [{"date": 20261101, "base": "USD", "quote": "CNY", "rate": "7"}]},
            "rates.0.date",
        ),
        (
            {"rates": [{"date": "2026-11-01", "base": "USD", "quote": "CNY", "rate": "7", "x": 1}]},
            "rates.0.x",
        ),
        ({"rates": ["2026-11-01,USD,CNY,7"]}, "rates.0"),
        ({"rates": []}, "rates"),
        ({"rates": {}}, "rates"),
        ({"rates": [], "more": 1}, "more"),
        ([], "rates"),
    ]
    for body_json, field in cases:
        r = await api.http.post("/api/v1/fx/rates", json=body_json, headers=h)
        assert_problem(r, 422, "invalid_input", field)
    r = await api.http.post(
        "/api/v1/fx/rates", content=b"{", headers=h | {"Content-Type": "application/json"}
    )
    assert_problem(r, 400, "bad_json")
    r = await api.http.post(
        "/api/v1/fx/rates", content=b"2026-11-01,USD,CNY,\xff\n", headers=h | CSV
    )
    assert_problem(r, 422, "invalid_input", "rows")
    r = await api.http.post(
        "/api/v1/fx/rates", content="2026-11-01,USD,CNY,7\x00\n", headers=h | CSV
    )
    assert_problem(r, 422, "invalid_input", "rows")
    r = await api.http.post(
        "/api/v1/fx/rates", content=b"x", headers=h | {"Content-Type": "application/xml"}
    )
    assert_problem(r, 422, "invalid_input", "content-type")
    assert await _stored(api) == []


async def test_a_body_over_the_limit_is_413(api: Api) -> None:
    h = await _operator(api)
    limit = api.app.runtime.settings.conversions_max_body_bytes  # type: ignore[union-attr]
    big = "2026-11-01,USD,CNY,7.12\n" * (limit // 24 + 10)
    r = await api.http.post("/api/v1/fx/rates", content=big, headers=h | CSV)
    assert_problem(r, 413, "payload_too_large")
    assert await _stored(api) == []


async def test_only_the_operator_scope_uploads(api: Api) -> None:
    ws, every_workspace_scope = await api.tenant(
        "Acme Store", frozenset(s for s in Scope if s is not Scope.RATES_WRITE)
    )
    for method in ("get", "post"):
        r = await api.http.request(
            method,
            "/api/v1/fx/rates",
            content="2026-11-01,USD,CNY,7.12\n",
            headers=every_workspace_scope | CSV,
        )
        assert_problem(r, 403, "forbidden")
    r = await api.http.post("/api/v1/fx/rates", content="2026-11-01,USD,CNY,7.12\n", headers=CSV)
    assert_problem(r, 401, "unauthenticated")
    assert await _stored(api) == []
    # A workspace's own grant cannot reach the scope: only the operator gives it.
    async with api.db.transaction() as tx:
        try:
            await create_api_key(
                tx, workspace=ws, name="x", scopes=frozenset({Scope.RATES_WRITE}), created_by="u"
            )
        except InvalidInput as exc:
            assert exc.errors[0].field == "scopes" and exc.errors[0].code == "operator_only"
        else:
            raise AssertionError("a non-operator granted rates:write")


async def test_a_quote_never_closed_is_refused_naming_its_line(api: Api) -> None:
    """A stray quote followed by more than 128 KB of rates was a 500 (the csv module's cell
    limit); now a 422 naming the line the quote opens on, and nothing is stored."""
    h = await _operator(api)
    body = '2026-11-01,USD,"CNY,7.1\n' + "2026-11-02,USD,CNY,7.1\n" * 8000
    r = await api.http.post("/api/v1/fx/rates", content=body, headers=h | CSV)
    assert_problem(r, 422, "invalid_input", "rows")
    assert r.json()["errors"][0]["code"] == "unclosed_quote"
    assert "line 1" in r.json()["detail"]
    assert await _stored(api) == []
