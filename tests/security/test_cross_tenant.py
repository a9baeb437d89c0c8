"""Cross-tenant matrix: another workspace's IDs answer exactly like IDs that do not exist.

Workspace A's credentials — each single-scope API key and a full key, and a signed-in
owner on the dashboard — are pointed at workspace B's link, campaign, tag, channel, key,
member, bulk upload and stats. Every answer must equal, byte for byte (status, headers,
body, after swapping the ID asked for), the answer for a made-up ID of the same shape, and
every table must be unchanged afterwards. A positive control then runs each probe with B's
own credentials on B's own objects: it must succeed, so no probe passes merely because it
was malformed.

The operations come from the served OpenAPI document and the dashboard's routing table;
one that is not classified below fails ``test_every_*_is_classified``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from security.routes import FILES, FORMS, dashboard_routes, param_kind, path_params
from security.tenants import KEY_LABELS, Browser, Tenant, World, diff, missing_like, signed_in
from security.tenants import snapshot as take_snapshot

API = "/api/v1"
# Placeholders a probe may use. {own_link} is always A's own link: a foreign reference in a
# write to one's own object (e.g. moving one's link into B's campaign) must fail too.
KINDS = ("ws", "link", "campaign", "tag", "channel", "key", "user", "job", "code")


@dataclass(frozen=True)
class Probe:
    path: str  # with placeholders, may carry a query string
    body: Any = None  # JSON for the API, form fields for the dashboard
    allowed: tuple[int, ...] = (404,)  # statuses the foreign answer may have


# --- the REST API ------------------------------------------------------------------------

_LINK_BODY = {"url": "https://shop.example.com/cross"}
_RULE = {
    "conditions": [{"type": "os", "values": ["android"]}],
    "action": {"type": "url", "url": "https://shop.example.com/hijacked"},
}
API_PROBES: dict[str, list[Probe]] = {
    "POST /api/v1/links": [
        Probe(f"{API}/links", {**_LINK_BODY, "campaign_id": "{campaign}"}, (422,)),
        Probe(f"{API}/links", {**_LINK_BODY, "channel": "{channel}"}, (422,)),
    ],
    "POST /api/v1/links/bulk": [
        Probe(
            f"{API}/links/bulk",
            {"items": [{**_LINK_BODY, "campaign_id": "{campaign}"}], "all_or_nothing": True},
            (422,),
        ),
        Probe(f"{API}/links/bulk", {"items": [{**_LINK_BODY, "channel": "{channel}"}]}, (200,)),
    ],
    "GET /api/v1/links": [
        Probe(f"{API}/links?campaign_id={{campaign}}", allowed=(200,)),
        Probe(f"{API}/links?tag={{tag}}", allowed=(200,)),
        Probe(f"{API}/links?channel={{channel}}", allowed=(200,)),
        Probe(f"{API}/links?q={{code}}", allowed=(200,)),
        Probe(f"{API}/links?archived=all&per_page=200", allowed=(200,)),
    ],
    "GET /api/v1/links/{link_id}": [Probe(f"{API}/links/{{link}}")],
    "PATCH /api/v1/links/{link_id}": [
        Probe(f"{API}/links/{{link}}", {"title": "pwned"}),
        Probe(f"{API}/links/{{link}}", {"url": "https://shop.example.com/hijacked"}),
        Probe(f"{API}/links/{{link}}", {"archived": True}),
        Probe(f"{API}/links/{{own_link}}", {"campaign_id": "{campaign}"}, (422,)),
    ],
    # Before the link's own DELETE: the positive control deletes in this order.
    "GET /api/v1/app-presets": [Probe(f"{API}/app-presets", allowed=(200,))],
    "GET /api/v1/links/{link_id}/rules": [Probe(f"{API}/links/{{link}}/rules")],
    "POST /api/v1/links/{link_id}/rules": [Probe(f"{API}/links/{{link}}/rules", _RULE)],
    "PUT /api/v1/links/{link_id}/rules": [
        Probe(f"{API}/links/{{link}}/rules", {"rules": [{**_RULE, "id": "{routing_rule}"}]}),
        Probe(
            f"{API}/links/{{own_link}}/rules",
            {"rules": [{**_RULE, "id": "{routing_rule}"}]},
            (422,),
        ),
    ],
    "GET /api/v1/links/{link_id}/rules/{rule_id}": [
        Probe(f"{API}/links/{{link}}/rules/{{routing_rule}}"),
        Probe(f"{API}/links/{{own_link}}/rules/{{routing_rule}}", allowed=(404,)),
    ],
    "PUT /api/v1/links/{link_id}/rules/{rule_id}": [
        Probe(f"{API}/links/{{link}}/rules/{{routing_rule}}", _RULE),
    ],
    "DELETE /api/v1/links/{link_id}/rules/{rule_id}": [
        Probe(f"{API}/links/{{link}}/rules/{{routing_rule}}"),
    ],
    # In this order: the positive control reads B's running test, stops it, starts another.
    "GET /api/v1/links/{link_id}/ab": [Probe(f"{API}/links/{{link}}/ab")],
    "POST /api/v1/links/{link_id}/ab/stop": [
        Probe(f"{API}/links/{{link}}/ab/stop", {"winner": "{variant}"}),
    ],
    "PUT /api/v1/links/{link_id}/ab": [
        Probe(f"{API}/links/{{link}}/ab", {"variants": [{}, {"url": "https://e.example/b"}]})
    ],
    "POST /api/v1/links/{link_id}/public-stats": [Probe(f"{API}/links/{{link}}/public-stats")],
    "DELETE /api/v1/links/{link_id}/public-stats": [Probe(f"{API}/links/{{link}}/public-stats")],
    "DELETE /api/v1/links/{link_id}": [Probe(f"{API}/links/{{link}}")],
    "GET /api/v1/links/{link_id}/history": [Probe(f"{API}/links/{{link}}/history")],
    "GET /api/v1/campaigns": [Probe(f"{API}/campaigns", allowed=(200,))],
    "GET /api/v1/campaigns/{campaign_id}": [Probe(f"{API}/campaigns/{{campaign}}")],
    "PATCH /api/v1/campaigns/{campaign_id}": [
        Probe(f"{API}/campaigns/{{campaign}}", {"name": "pwned"}),
        Probe(f"{API}/campaigns/{{campaign}}", {"external_id": None}),
    ],
    "DELETE /api/v1/campaigns/{campaign_id}": [Probe(f"{API}/campaigns/{{campaign}}")],
    "GET /api/v1/tags": [Probe(f"{API}/tags", allowed=(200,))],
    "PATCH /api/v1/tags/{name}": [Probe(f"{API}/tags/{{tag}}", {"name": "{tag}"})],
    "DELETE /api/v1/tags/{name}": [Probe(f"{API}/tags/{{tag}}")],
    "GET /api/v1/workspace": [Probe(f"{API}/workspace", allowed=(200,))],
    "DELETE /api/v1/workspace": [Probe(f"{API}/workspace", {"confirm": "{ws}"}, (422,))],
    "GET /api/v1/workspace/audit": [Probe(f"{API}/workspace/audit?limit=500", allowed=(200,))],
    "GET /api/v1/workspace/export": [Probe(f"{API}/workspace/export", allowed=(200,))],
    "GET /api/v1/workspace/domains": [Probe(f"{API}/workspace/domains", allowed=(200,))],
    "GET /api/v1/workspace/short-domains": [
        Probe(f"{API}/workspace/short-domains", allowed=(200,))
    ],
    "POST /api/v1/workspace/short-domains/{domain_id}/verify": [
        Probe(f"{API}/workspace/short-domains/{{short_domain}}/verify"),
        Probe(f"{API}/workspace/short-domains/{{short_host}}/verify"),
    ],
    "PATCH /api/v1/workspace/short-domains/{domain_id}": [
        Probe(
            f"{API}/workspace/short-domains/{{short_domain}}",
            {"root_url": "https://shop.example.com/hijacked"},
        ),
        Probe(f"{API}/workspace/short-domains/{{short_host}}", {"workspace_default": True}),
    ],
    "DELETE /api/v1/workspace/short-domains/{domain_id}": [
        Probe(f"{API}/workspace/short-domains/{{short_domain}}"),
        Probe(f"{API}/workspace/short-domains/{{short_host}}"),
    ],
    "POST /api/v1/workspace/domains/{domain_id}/verify": [
        Probe(f"{API}/workspace/domains/{{domain}}/verify"),
        Probe(f"{API}/workspace/domains/{{host}}/verify"),
    ],
    "DELETE /api/v1/workspace/domains/{domain_id}": [
        Probe(f"{API}/workspace/domains/{{domain}}"),
        Probe(f"{API}/workspace/domains/{{host}}"),
    ],
    "GET /api/v1/webhooks": [Probe(f"{API}/webhooks", allowed=(200,))],
    "GET /api/v1/webhooks/{endpoint_id}": [Probe(f"{API}/webhooks/{{webhook}}")],
    "PATCH /api/v1/webhooks/{endpoint_id}": [
        Probe(f"{API}/webhooks/{{webhook}}", {"enabled": False, "description": "x"})
    ],
    "DELETE /api/v1/webhooks/{endpoint_id}": [Probe(f"{API}/webhooks/{{webhook}}")],
    "POST /api/v1/webhooks/{endpoint_id}/rotate-secret": [
        Probe(f"{API}/webhooks/{{webhook}}/rotate-secret", {"overlap_seconds": 60})
    ],
    "GET /api/v1/webhooks/{endpoint_id}/messages": [
        Probe(f"{API}/webhooks/{{webhook}}/messages?status=failed")
    ],
    "GET /api/v1/webhooks/messages/{message_id}": [Probe(f"{API}/webhooks/messages/{{message}}")],
    "POST /api/v1/webhooks/messages/{message_id}/replay": [
        Probe(f"{API}/webhooks/messages/{{message}}/replay")
    ],
    "POST /api/v1/webhooks/replay": [Probe(f"{API}/webhooks/replay", {"endpoint_id": "{webhook}"})],
    "GET /api/v1/integrations": [Probe(f"{API}/integrations", allowed=(200,))],
    "GET /api/v1/integrations/{destination_id}": [Probe(f"{API}/integrations/{{integration}}")],
    "PATCH /api/v1/integrations/{destination_id}": [
        Probe(f"{API}/integrations/{{integration}}", {"enabled": False, "name": "x"})
    ],
    "DELETE /api/v1/integrations/{destination_id}": [Probe(f"{API}/integrations/{{integration}}")],
    "GET /api/v1/integrations/{destination_id}/events": [
        Probe(f"{API}/integrations/{{integration}}/events?status=dead")
    ],
    "GET /api/v1/integrations/{destination_id}/status": [
        Probe(f"{API}/integrations/{{integration}}/status")
    ],
    "POST /api/v1/integrations/{destination_id}/test": [
        Probe(f"{API}/integrations/{{integration}}/test")
    ],
    "POST /api/v1/integrations/replay": [
        # The event first: the positive control replays it (then nothing is left dead, and
        # a replay of the destination's dead letters is a 200 with 0).
        Probe(f"{API}/integrations/replay", {"entry_id": "{fwd_event}"}),
        Probe(f"{API}/integrations/replay", {"destination_id": "{integration}"}),
    ],
    "GET /api/v1/stats/workspace": [Probe(f"{API}/stats/workspace", allowed=(200,))],
    # Destination health (issue 12): another workspace's link and notification.
    "GET /api/v1/links/{link_id}/health": [Probe(f"{API}/links/{{link}}/health")],
    "PATCH /api/v1/links/{link_id}/health": [
        Probe(f"{API}/links/{{link}}/health", {"auto_fallback": "off"})
    ],
    "POST /api/v1/links/{link_id}/health/check": [Probe(f"{API}/links/{{link}}/health/check", {})],
    "GET /api/v1/health": [Probe(f"{API}/health", allowed=(200,))],
    "GET /api/v1/health/notifications": [
        Probe(f"{API}/health/notifications?limit=500", allowed=(200,))
    ],
    "POST /api/v1/health/notifications/acknowledge": [
        Probe(f"{API}/health/notifications/acknowledge", {"id": "{health_event}"})
    ],
    "GET /api/v1/stats/link/{link_id}": [
        Probe(f"{API}/stats/link/{{link}}"),
        Probe(f"{API}/stats/link/{{link}}?format=csv&granularity=hour"),
    ],
    "GET /api/v1/stats/campaign/{campaign_id}": [Probe(f"{API}/stats/campaign/{{campaign}}")],
    "GET /api/v1/stats/channel/{name}": [
        Probe(f"{API}/stats/channel/{{channel}}", allowed=(200, 404))
    ],
    "GET /api/v1/stats/tag/{name}": [Probe(f"{API}/stats/tag/{{tag}}", allowed=(200, 404))],
    "GET /api/v1/stats/workspace/breakdown/{breakdown}": [
        Probe(f"{API}/stats/workspace/breakdown/campaigns", allowed=(200,)),
        Probe(f"{API}/stats/workspace/breakdown/channels", allowed=(200,)),
    ],
    "GET /api/v1/stats/{kind}/{ref}/breakdown/{breakdown}": [
        Probe(f"{API}/stats/link/{{link}}/breakdown/countries"),
        Probe(f"{API}/stats/campaign/{{campaign}}/breakdown/referrers?format=csv"),
        Probe(f"{API}/stats/channel/{{channel}}/breakdown/countries", allowed=(200, 404)),
        Probe(f"{API}/stats/tag/{{tag}}/breakdown/os", allowed=(200, 404)),
    ],
    # Conversions (issue 10): another workspace's order, click, rule and ingest key.
    "POST /api/v1/conversions": [
        Probe(f"{API}/conversions", {"type": "refund", "order_id": "{order_ext}"}, (422,)),
        Probe(
            f"{API}/conversions",
            {"events": [{"type": "cancel", "order_id": "{order_ext}", "event_id": "probe"}]},
            (200,),
        ),
    ],
    "GET /api/v1/conversions/orders": [
        Probe(f"{API}/conversions/orders?link_id={{link}}", allowed=(200,)),
        Probe(f"{API}/conversions/orders?q={{order_ext}}", allowed=(200,)),
    ],
    "GET /api/v1/conversions/orders/{order_pk}": [Probe(f"{API}/conversions/orders/{{order}}")],
    "GET /api/v1/conversions/settings": [Probe(f"{API}/conversions/settings", allowed=(200,))],
    "GET /api/v1/conversions/commission-rules": [
        Probe(f"{API}/conversions/commission-rules", allowed=(200,))
    ],
    "PUT /api/v1/conversions/commission-rules": [
        Probe(
            f"{API}/conversions/commission-rules",
            {"kind": "campaign", "ref": "{campaign}", "percent": 9},
            (422,),
        )
    ],
    "DELETE /api/v1/conversions/commission-rules/{rule_id}": [
        Probe(f"{API}/conversions/commission-rules/{{rule}}")
    ],
    "GET /api/v1/conversions/ingest-keys": [
        Probe(f"{API}/conversions/ingest-keys", allowed=(200,))
    ],
    "DELETE /api/v1/conversions/ingest-keys/{key_id}": [
        Probe(f"{API}/conversions/ingest-keys/{{ikey}}")
    ],
    "GET /api/v1/stats/conversions/workspace": [
        Probe(f"{API}/stats/conversions/workspace?group=link&group=campaign", allowed=(200,))
    ],
    "GET /api/v1/stats/conversions/{kind}/{ref}": [
        Probe(f"{API}/stats/conversions/link/{{link}}"),
        Probe(f"{API}/stats/conversions/campaign/{{campaign}}?group=ad_group"),
        Probe(f"{API}/stats/conversions/channel/{{channel}}", allowed=(200, 404)),
        Probe(f"{API}/stats/conversions/tag/{{tag}}", allowed=(200, 404)),
    ],
}
# Operations that cannot name anything of another workspace's (what they create is the
# caller's own); each with the reason.
API_EXEMPT: dict[str, str] = {
    "POST /api/v1/imports": "imports into the key's workspace; takes no reference (an old"
    " code on another workspace's domain is never kept: tests/integration/imports)",
    "POST /api/v1/campaigns": "creates a campaign in the key's workspace; takes no reference",
    "POST /api/v1/health/check": "makes the key's own workspace's links due; takes no reference",
    "POST /api/v1/webhooks": "creates an endpoint in the key's workspace; takes no reference",
    "POST /api/v1/integrations": "creates a destination in the key's workspace; no reference",
    "POST /api/v1/workspace/domains": "claims are per workspace: any workspace may claim a"
    " hostname another has claimed; B's claim is neither shown nor changed (the GET, verify"
    " and DELETE probes check that)",
    "POST /api/v1/workspace/short-domains": "a host name another workspace holds is refused"
    " (domain_taken, whichever workspace it is, nothing of it shown); a new one is claimed"
    " for the key's own workspace (tests/integration/redirect/test_custom_domains.py)",
    "PUT /api/v1/conversions/settings": "changes the key's own workspace's window, model,"
    " currency and commission; takes no reference",
    "POST /api/v1/conversions/ingest-keys": "creates an ingest key in the key's workspace;"
    " takes no reference",
    "GET /api/v1/conversions/import/presets": "the shipped presets; no workspace data",
    "GET /api/v1/conversions/import/mapping": "the key's own workspace's saved mapping; takes"
    " no reference",
    "PUT /api/v1/conversions/import/mapping": "saves the key's own workspace's mapping; takes no"
    " reference",
    "POST /api/v1/conversions/import": "a CSV body (not JSON, so no probe here): imports into"
    " the key's workspace; another workspace's click id in it is unknown, its orders are"
    " never touched (test_order_export_import.py, test_ingest_key_imports_and_another_…)",
    "POST /api/v1/fx/rates": "the platform's exchange rates, no workspace's data; only a key"
    " with the operator scope rates:write (tests/integration/api/test_fx_api.py)",
    "GET /api/v1/fx/rates": "the platform's exchange rates (no workspace's data); operator"
    " scope rates:write only",
    "POST /api/v1/spend/import": "imports spend rows into the key's workspace, matched to"
    " its own links by utm values at report time; takes no reference",
}


def _fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


def _refs(t: Tenant) -> dict[str, str]:
    return {**t.ids(), "code": t.link_code}


def _missing(t: Tenant) -> dict[str, str]:
    return {kind: missing_like(value) for kind, value in _refs(t).items()}


def _swap(text: str, src: dict[str, str], dst: dict[str, str]) -> str:
    for kind in sorted(src, key=lambda k: -len(src[k])):
        text = text.replace(src[kind], dst[kind])
    return text


def _normal(response: httpx.Response, src: dict[str, str], dst: dict[str, str]) -> Any:
    """Status, headers and body, with the references asked for swapped to ``dst``'s."""
    body = response.content.decode("utf-8", "replace")
    body = re.sub(r'name="csrf_token" value="[^"]+"', "", body)
    body = re.sub(r'<p class="hint updated">[^<]*</p>', "", body)  # the clock, to the second
    headers = sorted(
        (k, _swap(v, src, dst))
        for k, v in response.headers.items()
        if k not in ("content-length", "x-request-id")  # the request ID is random per request
    )
    return response.status_code, headers, _swap(body, src, dst)


def _names_something(probe: Probe) -> bool:
    return "{" in probe.path or "{" in repr(probe.body)


def _template_regex(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^}]+\}", path)
    return re.compile("[^/]+".join(map(re.escape, parts)) + r"(\?.*)?")


async def _openapi_operations(world: World) -> set[str]:
    response = await world.dash.browser().http.get(f"{API}/openapi.json")
    assert response.status_code == 200
    ops = set()
    for path, item in response.json()["paths"].items():
        for method in item:
            if method in ("get", "put", "post", "patch", "delete"):
                ops.add(f"{method.upper()} {path}")
    return ops


async def test_every_api_operation_is_classified(world: World) -> None:
    served = await _openapi_operations(world)
    classified = set(API_PROBES) | set(API_EXEMPT)
    assert served - classified == set(), "add these operations to API_PROBES or API_EXEMPT"
    assert classified - served == set(), "these classified operations are no longer served"
    filled = _refs(world.b) | {"own_link": world.a.link_id}
    for operation, probes in API_PROBES.items():
        pattern = _template_regex(operation.split(" ", 1)[1])
        for probe in probes:
            assert pattern.fullmatch(_fill(probe.path, filled)), (operation, probe.path)


def _leaks(text: str, b: Tenant, sent: str = "") -> list[str]:
    """B's data in an answer to A, apart from what A's own request said (echoes)."""
    secrets = [
        *_refs(b).values(),
        b.ws.name,
        "Link of b",
        "Campaign b",
        *[k.id for k in b.keys.values()],
    ]
    return [s for s in secrets if s and s in text and s not in sent]


async def _api_call(
    http: httpx.AsyncClient, method: str, probe: Probe, values: dict[str, str], key: str
) -> httpx.Response:
    body = _fill(probe.body, values)
    return await http.request(
        method,
        _fill(probe.path, values),
        json=body if probe.body is not None else None,
        headers={"Authorization": f"Bearer {key}"},
    )


async def test_api_foreign_ids_answer_like_missing_ones(world: World) -> None:
    a, b = world.a, world.b
    http = world.dash.browser().http
    # Each key's first use stamps last_used_at; do that before the "before" snapshot.
    for label in KEY_LABELS:
        assert (
            await http.get(f"{API}/workspace", headers=a.keys[label].headers)
        ).status_code == 200
    foreign = _refs(b) | {"own_link": a.link_id}
    missing = _missing(b) | {"own_link": a.link_id}
    before = await take_snapshot(world.db)
    cases = 0
    for label in KEY_LABELS:
        key = a.keys[label].raw
        for operation, probes in API_PROBES.items():
            method = operation.split(" ", 1)[0]
            for probe in probes:
                got = await _api_call(http, method, probe, foreign, key)
                ref = await _api_call(http, method, probe, missing, key)
                where = (label, operation, probe.path, probe.body)
                assert got.status_code in (*probe.allowed, 403), (where, got.text)
                if _names_something(probe):  # (else both requests were the same one)
                    assert _normal(got, foreign, missing) == _normal(ref, missing, missing), where
                sent = f"{got.request.url} {got.request.content.decode()}"
                assert _leaks(got.text, b, sent) == [], (where, _leaks(got.text, b, sent))
                cases += 1
    assert _foreign_changes(diff(before, await take_snapshot(world.db)), a) == {}
    assert cases >= len(KEY_LABELS) * 30
    print(f"cross-tenant API: {cases} probes x 2 requests, {len(KEY_LABELS)} keys")
    await _api_positive_control(world, http)


def _foreign_changes(changes: dict[str, Any], a: Tenant) -> dict[str, Any]:
    """What changed apart from audit entries of A's own (an export is audited)."""
    own_audit = changes.get("audit_log")
    own = own_audit and not own_audit["removed"]
    if own and all(a.ws.id in repr(row) for row in own_audit["added"]):
        changes = {k: v for k, v in changes.items() if k != "audit_log"}
    # A's own keys stamped again (last_used_at is written at most once a minute; a run
    # over many probes on a busy machine outlasts that minute).
    keys = changes.get("api_keys")
    if (
        keys
        and all(a.ws.id in repr(row) for part in ("added", "removed") for row in keys[part])
        and len(keys["added"]) == len(keys["removed"])
    ):
        changes = {k: v for k, v in changes.items() if k != "api_keys"}
    return changes


async def _api_positive_control(world: World, http: httpx.AsyncClient) -> None:
    """B's full key on B's objects: every probe reaches its object (2xx); deletes last,
    erasing the workspace very last."""
    b = world.b
    own = _refs(b) | {"own_link": b.link_id}
    ordered = sorted(
        API_PROBES.items(),
        key=lambda item: (item[0].startswith("DELETE"), item[0] == "DELETE /api/v1/workspace"),
    )
    for operation, probes in ordered:
        method = operation.split(" ", 1)[0]
        for probe in probes[:1] if method == "DELETE" else probes:  # an object goes once
            response = await _api_call(http, method, probe, own, b.keys["all"].raw)
            assert 200 <= response.status_code < 300, (operation, probe.path, response.text)
            if probe.path.endswith("/stats/link/{link}"):
                assert response.json()["totals"]["pv"] == 5  # B's clicks are there to hide


# --- the dashboard -----------------------------------------------------------------------

ADMIN = "/app/admin"
ACCOUNT = "/app/account"
# Routes outside any workspace: they take no reference to another tenant's objects.
DASH_EXEMPT: dict[str, str] = {
    "GET /report": "redirects to the public report form",
    "GET /app/report": "the public report form (anyone may report any public short link)",
    "POST /app/report": "files a visitor's report; says only whether the short link exists,"
    " which the short link itself says publicly",
    "GET /": "redirects to the user's own workspace",
    "GET /app": "redirects to /app/",
    "GET /app/": "redirects to the user's own workspace",
    "GET /app/signin": "the sign-in form",
    "POST /app/signin": "signs in; no workspace reference",
    "POST /app/signout": "signs out",
    "POST /app/lang": "sets the language cookie",
    # Issue 14: the person's own account and the pages reached by a secret link. The
    # links' tokens are credentials of their own (hashed, single-use, rate limited per
    # address: tests/integration/dashboard/test_accounts.py), not references to a tenant.
    "GET /app/signin/2fa": "the second sign-in step of the pending sign-in in the cookie",
    "POST /app/signin/2fa": "checks a code of the pending sign-in in the cookie",
    "GET /app/forgot": "the reset-request form",
    "POST /app/forgot": "answers the same whether or not the address has an account",
    "GET /app/reset/{token}": "a reset link: the token is the credential",
    "POST /app/reset/{token}": "a reset link: the token is the credential",
    "GET /app/invite/{token}": "an invitation link: the token is the credential",
    "POST /app/invite/{token}": "an invitation link: the token is the credential",
    "GET /app/account": "the signed-in person's own account",
    "POST /app/account/password": "the signed-in person's own password",
    "POST /app/account/sessions/signout": "ends the signed-in person's own other sessions",
    "GET /app/account/2fa": "the signed-in person's own enrolment",
    "POST /app/account/2fa": "the signed-in person's own enrolment",
    "POST /app/account/2fa/disable": "the signed-in person's own second factor",
    "POST /app/account/2fa/codes": "the signed-in person's own recovery codes",
    "GET /stats/{token}": "a public stats page: the unguessable token is the only reference"
    " (tests/integration/dashboard/test_public_stats.py: wrong, renewed and revoked tokens)",
}
# Routes that answer a foreign workspace without looking it up (identically, as the
# comparison checks), with the status they give.
DASH_ALLOWED: dict[str, tuple[int, ...]] = {"GET /app/w/{ws}": (303,)}
# References in the query string or form of a route in one's own workspace ({own_ws}).
DASH_EXTRA: list[tuple[str, Probe]] = [
    # A's own running A/B test, stopped with B's variant as the winner.
    ("POST", Probe("/app/w/{own_ws}/links/{own_link}/ab/stop", {"winner": "{variant}"}, (422,))),
    ("GET", Probe("/app/w/{own_ws}/analytics?scope=link:{link}")),
    ("GET", Probe("/app/w/{own_ws}/analytics?scope=campaign:{campaign}")),
    ("GET", Probe("/app/w/{own_ws}/analytics?scope=tag:{tag}", allowed=(200, 404))),
    ("GET", Probe("/app/w/{own_ws}/analytics?scope=channel:{channel}", allowed=(200, 404))),
    ("GET", Probe("/app/w/{own_ws}/analytics.csv?scope=link:{link}")),
    ("GET", Probe("/app/w/{own_ws}/analytics.csv?scope=campaign:{campaign}")),
    ("GET", Probe("/app/w/{own_ws}/analytics/orders.csv?scope=link:{link}")),
    ("GET", Probe("/app/w/{own_ws}/analytics/orders.csv?scope=campaign:{campaign}")),
    ("GET", Probe("/app/w/{own_ws}/links?campaign={campaign}", allowed=(200,))),
    ("GET", Probe("/app/w/{own_ws}/links?tag={tag}", allowed=(200,))),
    ("GET", Probe("/app/w/{own_ws}/links?q={code}", allowed=(200,))),
    ("GET", Probe("/app/w/{own_ws}/links.csv?campaign={campaign}", allowed=(200,))),
    ("GET", Probe("/app/w/{own_ws}/campaigns", allowed=(200,))),
    ("GET", Probe("/app/w/{own_ws}/settings", allowed=(200,))),
    ("GET", Probe("/app/w/{own_ws}/orders?q={order_ext}", allowed=(200,))),
    ("GET", Probe("/app/w/{own_ws}/conversions", allowed=(200,))),
    (
        "POST",
        Probe(
            "/app/w/{own_ws}/conversions/rules",
            {"kind": "campaign", "ref": "{campaign}", "percent": "8"},
            (422,),
        ),
    ),
    (
        "POST",
        Probe(
            "/app/w/{own_ws}/links",
            {"url": "https://shop.example.com/x", "campaign_id": "{campaign}"},
            (200, 400, 422),
        ),
    ),
    (
        "POST",
        Probe(
            "/app/w/{own_ws}/links/{own_link}/edit",
            {"url": "https://shop.example.com/x", "campaign_id": "{campaign}"},
            (200, 400, 422),
        ),
    ),
]


async def test_every_dashboard_route_is_classified(world: World) -> None:
    for method, path in dashboard_routes(world):
        if f"{method} {path}" in DASH_EXEMPT:
            continue
        params = path_params(path)
        assert "ws" in params or path.startswith((ADMIN, ACCOUNT)), (
            f"{method} {path}: add it to DASH_EXEMPT"
        )
        unknown = [p for p in params if param_kind(path, p) is None]
        assert unknown == [], f"{method} {path}: classify path parameters {unknown} in DASH_PARAMS"
        if method != "GET":
            assert path in FORMS, f"{method} {path}: add a valid form to FORMS"


def _dash_probes(world: World) -> list[tuple[str, Probe]]:
    """Derived: every route in B's workspace, and every route with an object parameter in
    A's own workspace with B's object; plus the query-string and form references."""
    probes: list[tuple[str, Probe]] = []
    for method, path in dashboard_routes(world):
        if f"{method} {path}" in DASH_EXEMPT:
            continue
        params = path_params(path)
        kinds = {name: str(param_kind(path, name)) for name in params}
        template = path
        for name, kind in kinds.items():
            template = re.sub(r"\{" + name + r"(?::\w+)?\}", "{" + kind + "}", template)
        body = FORMS.get(path) if method != "GET" else None
        allowed = DASH_ALLOWED.get(f"{method} {path}", (404,))
        probes.append((method, Probe(template, body, allowed)))  # B's workspace or object
        if path.startswith((ADMIN, ACCOUNT)):
            # platform-wide pages: a tenant's member gets the same 404 for any ID; the
            # account's sessions: another person's session is like one that does not exist
            continue
        if set(params) - {"ws"}:
            own = template.replace("{ws}", "{own_ws}", 1)
            probes.append((method, Probe(own, body)))  # B's object in A's workspace
    return probes + DASH_EXTRA


async def _dash_call(
    browser: Browser, method: str, probe: Probe, values: dict[str, str]
) -> httpx.Response:
    path = _fill(probe.path, values)
    if method == "GET":
        return await browser.get(path)
    files = FILES.get(probe.path.replace("{own_ws}", "{ws}"))
    return await browser.post(path, _fill(probe.body, values) or {}, files=files)


async def test_dashboard_foreign_ids_answer_like_missing_ones(world: World) -> None:
    a, b = world.a, world.b
    browser = await signed_in(world.dash, a)
    own = {"own_ws": a.ws.slug, "own_link": a.link_id}
    foreign = _refs(b) | own
    missing = _missing(b) | own
    probes = _dash_probes(world)
    before = await take_snapshot(world.db)
    for method, probe in probes:
        got = await _dash_call(browser, method, probe, foreign)
        ref = await _dash_call(browser, method, probe, missing)
        where = (method, probe.path)
        assert got.status_code in probe.allowed, (where, got.status_code, got.text[-1500:])
        assert _normal(got, foreign, missing) == _normal(ref, missing, missing), where
        if got.status_code == 200:
            sent = f"{got.request.url} {got.request.content.decode()}"
            assert _leaks(got.text, b, sent) == [], (where, _leaks(got.text, b, sent))
    assert diff(before, await take_snapshot(world.db)) == {}
    assert len(probes) >= 40
    print(f"cross-tenant dashboard: {len(probes)} probes x 2 requests")
    # Positive control: B's owner on B's own objects reaches each of them.
    b_browser = await signed_in(world.dash, b)
    own_b = _refs(b) | {"own_ws": b.ws.slug, "own_link": b.link_id}
    destructive = ("/delete", "/remove", "/revoke")
    ordered = sorted(probes, key=lambda mp: mp[1].path.endswith(destructive))
    done = set()
    for method, probe in ordered:
        if probe in (p for _, p in DASH_EXTRA) and method == "POST":
            continue  # the foreign-reference forms: B's own campaign is accepted, fine
        if probe.path.startswith(ADMIN):
            continue  # for platform admins only (tests/integration/dashboard/test_admin_pages)
        if (method, _fill(probe.path, own_b)) in done:
            continue  # the same request twice (B's slug in both places)
        done.add((method, _fill(probe.path, own_b)))
        response = await _dash_call(b_browser, method, probe, own_b)
        assert response.status_code in (200, 303), (method, probe.path, response.status_code)
