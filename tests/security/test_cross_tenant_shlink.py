"""Cross-tenant matrix of the Shlink-compatible API (/rest/v3): workspace A's keys, as
``X-Api-Key``, pointed at workspace B's short code and tag answer exactly like a made-up
code or tag (status, headers, body after swapping the name asked for), leak nothing of
B's, and change nothing. Every operation of /rest/v3/openapi.json is classified below.
"""

from __future__ import annotations

import httpx

from security.tenants import KEY_LABELS, World, diff
from security.tenants import snapshot as take_snapshot
from security.test_cross_tenant import Probe, _fill, _leaks, _missing, _normal, _refs

REST = "/rest/v3"
PROBES: dict[str, list[Probe]] = {
    "GET /rest/v3/short-urls": [
        Probe(f"{REST}/short-urls?searchTerm={{code}}", allowed=(200,)),
        Probe(f"{REST}/short-urls?tags[]={{tag}}", allowed=(200,)),
    ],
    "GET /rest/v3/short-urls/{shortCode}": [Probe(f"{REST}/short-urls/{{code}}")],
    "PATCH /rest/v3/short-urls/{shortCode}": [
        Probe(f"{REST}/short-urls/{{code}}", {"title": "taken over"})
    ],
    "DELETE /rest/v3/short-urls/{shortCode}": [Probe(f"{REST}/short-urls/{{code}}")],
    "GET /rest/v3/short-urls/{shortCode}/visits": [Probe(f"{REST}/short-urls/{{code}}/visits")],
    "GET /rest/v3/short-urls/{shortCode}/redirect-rules": [
        Probe(f"{REST}/short-urls/{{code}}/redirect-rules")
    ],
    "POST /rest/v3/short-urls/{shortCode}/redirect-rules": [
        Probe(f"{REST}/short-urls/{{code}}/redirect-rules", {"redirectRules": []})
    ],
    "GET /rest/v3/tags/{tag}/visits": [Probe(f"{REST}/tags/{{tag}}/visits")],
    "GET /rest/v3/domains/{domain}/visits": [Probe(f"{REST}/domains/{{short_host}}/visits")],
    "PATCH /rest/v3/domains/redirects": [
        Probe(
            f"{REST}/domains/redirects",
            {"domain": "{short_host}", "baseUrlRedirect": "https://shop.example.com/hijacked"},
        )
    ],
    "PUT /rest/v3/tags": [Probe(f"{REST}/tags", {"oldName": "{tag}", "newName": "mine now"})],
    "DELETE /rest/v3/tags": [Probe(f"{REST}/tags?tags[]={{tag}}", allowed=(204,))],
}
EXEMPT = {
    "POST /rest/v3/short-urls": "codes are unique per domain across workspaces, as in"
    " /api/v1: a taken custom slug is refused whoever holds it (no data of B is shown)",
    "GET /rest/v3/tags": "takes no reference; lists the key's workspace's only",
    "GET /rest/v3/tags/stats": "takes no reference",
    "GET /rest/v3/visits": "takes no reference",
    "GET /rest/v3/visits/orphan": "takes no reference; always empty",
    "GET /rest/v3/visits/non-orphan": "takes no reference",
    "GET /rest/v3/domains": "takes no reference",
    "GET /rest/v3/health": "no key, no data",
    "GET /rest/v3/mercure-info": "always 501",
}


async def test_every_shlink_operation_is_classified(world: World) -> None:
    response = await world.dash.browser().http.get(f"{REST}/openapi.json")
    served = {
        f"{method.upper()} {path}"
        for path, item in response.json()["paths"].items()
        for method in item
        if method in ("get", "put", "post", "patch", "delete")
    }
    assert served == set(PROBES) | set(EXEMPT)


async def _call(
    http: httpx.AsyncClient, method: str, probe: Probe, values: dict[str, str], key: str
) -> httpx.Response:
    body = _fill(probe.body, values)
    return await http.request(
        method,
        _fill(probe.path, values),
        json=body if probe.body is not None else None,
        headers={"X-Api-Key": key},
    )


async def test_foreign_codes_and_tags_answer_like_missing_ones(world: World) -> None:
    a, b = world.a, world.b
    http = world.dash.browser().http
    for label in KEY_LABELS:  # stamp last_used_at before the snapshot
        r = await http.get(f"{REST}/tags", headers={"X-Api-Key": a.keys[label].raw})
        assert r.status_code in (200, 403)
    foreign, missing = _refs(b), _missing(b)
    before = await take_snapshot(world.db)
    cases = 0
    for label in KEY_LABELS:
        key = a.keys[label].raw
        for operation, probes in PROBES.items():
            method = operation.split(" ", 1)[0]
            for probe in probes:
                got = await _call(http, method, probe, foreign, key)
                ref = await _call(http, method, probe, missing, key)
                where = (label, operation, probe.path)
                assert got.status_code in (*probe.allowed, 403), (where, got.text)
                assert _normal(got, foreign, missing) == _normal(ref, missing, missing), where
                sent = f"{got.request.url} {got.request.content.decode()}"
                assert _leaks(got.text, b, sent) == [], (where, _leaks(got.text, b, sent))
                cases += 1
    assert diff(before, await take_snapshot(world.db)) == {}
    assert cases >= len(KEY_LABELS) * 10
    # Positive control: B's own full key reaches B's code and tag.
    own = b.keys["all"].raw
    short_host = _refs(b)["short_host"]
    for path in (
        f"{REST}/short-urls/{b.link_code}",
        f"{REST}/tags/{b.tag}/visits",
        f"{REST}/domains/{short_host}/visits",
    ):
        r = await http.get(path, headers={"X-Api-Key": own})
        assert r.status_code == 200, (path, r.text)
    edit = {"domain": short_host, "baseUrlRedirect": "https://shop.example.com/home"}
    r = await http.patch(f"{REST}/domains/redirects", json=edit, headers={"X-Api-Key": own})
    assert r.status_code == 200, r.text
