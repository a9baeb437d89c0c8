"""Arbitrary Unicode — lone surrogates and NUL included — into every slot of every route.

The route table is the cross-tenant battery's (every API operation of the served OpenAPI
document, every dashboard route of the running app, each with a valid request). Each path
parameter, query parameter and body field of that request is replaced in turn by
Hypothesis-generated text: text holding a NUL or a lone surrogate must be refused (4xx,
the API's naming the field) with no table changed; any text at all must never give a 5xx.
Tenant A's own objects and full key are used, so an unrefused request would act.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from security.routes import FORMS, dashboard_routes, param_kind, path_params
from security.tenants import Browser, World, diff, signed_in, snapshot
from security.test_cross_tenant import API_PROBES, Probe

PER_SLOT = 3  # generated values per slot and kind
_BAD_CHAR = st.sampled_from(["\x00", "\ud800", "\udfff"]) | st.characters(categories=["Cs"])
_ANY = st.text(st.characters(codec=None, categories=None), max_size=40)


def _samples(strategy: st.SearchStrategy[str], count: int) -> list[str]:
    """``count`` values drawn by Hypothesis, reproducibly (derandomized)."""
    drawn: list[str] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def draw(value: str) -> None:
        drawn.append(value)

    draw()
    return drawn[:count]


def _unstorable(count: int, *, nul_only: bool = False) -> list[str]:
    bad = st.just("\x00") if nul_only else _BAD_CHAR
    return _samples(st.tuples(_ANY, bad, _ANY).map("".join), count)


def _url_part(value: str) -> str:
    # A lone surrogate as the UTF-8-ish bytes a client could send (ED A0 80), escaped.
    return quote(value, safe="", errors="surrogatepass")


def _fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        for key, value in values.items():
            template = template.replace("{" + key + "}", value)
        return template
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


def _body_slots(body: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every string (and of every key) in a JSON body."""
    if isinstance(body, str):
        return [path]
    if isinstance(body, dict):
        return [s for k, v in body.items() for s in _body_slots(v, (*path, k))]
    if isinstance(body, list):
        return [s for i, v in enumerate(body) for s in _body_slots(v, (*path, i))]
    return []


def _replace(body: Any, where: tuple[Any, ...], value: str) -> Any:
    if not where:
        return value
    copy = dict(body) if isinstance(body, dict) else list(body)
    copy[where[0]] = _replace(body[where[0]], where[1:], value)  # type: ignore[index]
    return copy


def _api_requests(world: World, values: list[str], *, url_values: list[str]) -> list[Any]:
    """(method, path, JSON text or None, slot name) with one slot replaced per request."""
    refs = {**world.a.ids(), "code": world.a.link_code, "own_link": world.a.link_id}
    out = []
    for operation, probes in API_PROBES.items():
        method = operation.split(" ", 1)[0]
        for probe in probes:
            out += _api_probe_requests(method, probe, refs, values, url_values)
    return out


def _api_probe_requests(
    method: str, probe: Probe, refs: dict[str, str], values: list[str], url_values: list[str]
) -> list[Any]:
    out: list[Any] = []
    path, _, query = probe.path.partition("?")
    body = _fill(probe.body, refs)
    for placeholder in {m for m in path.split("/") if m.startswith("{")}:
        for value in url_values:
            bad_path = _fill(path.replace(placeholder, _url_part(value)), refs)
            out.append((method, bad_path, body, placeholder.strip("{}")))
    for pair in [*(query.split("&") if query else []), "q=x"]:
        name = pair.split("=", 1)[0]
        for value in url_values:
            others = [p for p in query.split("&") if p and not p.startswith(f"{name}=")]
            full = "&".join([*_fill(others, refs), f"{name}={_url_part(value)}"])
            out.append((method, f"{_fill(path, refs)}?{full}", body, name))
    for slot in _body_slots(body):
        for value in values:
            field = ".".join(map(str, slot))
            out.append((method, _fill(path, refs), _replace(body, slot, value), field))
    if isinstance(body, dict):  # an unknown key, unstorable itself
        for value in values[:1]:
            out.append((method, _fill(path, refs), {**body, value: "x"}, ""))
    return out


async def _send_api(http: httpx.AsyncClient, key: str, request: Any) -> httpx.Response:
    method, path, body, _ = request
    headers = {"Authorization": f"Bearer {key}"}
    if body is None:
        return await http.request(method, path, headers=headers)
    headers["Content-Type"] = "application/json"
    return await http.request(method, path, content=json.dumps(body), headers=headers)


def _dash_requests(world: World, values: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    a = world.a
    refs = {**a.ids()}
    out: list[tuple[str, str, dict[str, Any]]] = []
    for method, path in dashboard_routes(world):
        kinds = {name: param_kind(path, name) or name for name in path_params(path)}
        filled = {name: refs.get(kind, "x") for name, kind in kinds.items()}
        form = dict(FORMS.get(path, {})) if method == "POST" else {}
        for name in kinds:
            for value in values:
                bad = {**filled, name: _url_part(value)}
                out.append((method, _fill(path, bad), form))
        target = _fill(path, filled)
        for value in values:
            out.append((method, f"{target}?q={_url_part(value)}&next={_url_part(value)}", form))
        for field in form:
            for value in values:
                out.append((method, target, {**form, field: value}))
    return out


async def _send_dash(browser: Browser, request: tuple[str, str, dict[str, Any]]) -> httpx.Response:
    method, path, form = request
    if method == "GET":
        return await browser.get(path)
    return await browser.post(path, form)


async def test_unstorable_text_is_refused_everywhere_without_side_effects(world: World) -> None:
    http = world.dash.browser().http
    key = world.a.keys["all"]
    assert (await http.get("/api/v1/workspace", headers=key.headers)).status_code == 200
    browser = await signed_in(world.dash, world.a)
    api = _api_requests(
        world, _unstorable(PER_SLOT), url_values=_unstorable(PER_SLOT, nul_only=True)
    )
    dash = _dash_requests(world, _unstorable(PER_SLOT, nul_only=True))
    before = await snapshot(world.db)
    for request in api:
        response = await _send_api(http, key.raw, request)
        assert 400 <= response.status_code < 500, (request, response.status_code, response.text)
        if response.status_code == 422 and request[3]:
            problem = response.json()
            assert problem["field"], (request, problem)
    for request in dash:
        response = await _send_dash(browser, request)
        assert 400 <= response.status_code < 500, (request, response.status_code)
    assert diff(before, await snapshot(world.db)) == {}
    assert len(api) > 250 and len(dash) > 400, (len(api), len(dash))
    print(f"unstorable input: {len(api)} API and {len(dash)} dashboard requests refused")


async def test_any_unicode_anywhere_never_gives_a_5xx(world: World) -> None:
    http = world.dash.browser().http
    key = world.a.keys["all"]
    browser = await signed_in(world.dash, world.a)
    anything = _samples(_ANY, PER_SLOT)
    for request in _api_requests(world, anything, url_values=anything):
        if request[0] == "DELETE":
            continue  # would erase what the later requests use (the other test sends them)
        response = await _send_api(http, key.raw, request)
        assert response.status_code < 500, (request, response.status_code, response.text)
    # Forms go as UTF-8: a lone surrogate cannot be sent there (the other test sends NUL).
    printable = [v.encode("utf-8", "replace").decode("utf-8") for v in anything]
    for request in _dash_requests(world, printable):
        if request[1].endswith(("/delete", "/remove", "/revoke", "/signout")):
            continue  # would end the objects (or the session) the later requests use
        response = await _send_dash(browser, request)
        assert response.status_code < 500, (request, response.status_code)


async def test_sign_in_with_nul_in_the_email_is_refused_naming_it(world: World) -> None:
    browser = world.dash.browser()
    response = await browser.post(
        "/app/signin", {"email": "owner-a\x00@example.com", "password": "x"}
    )
    assert response.status_code == 422, response.text[-500:]
    assert "email: must not contain the NUL character" in response.text
