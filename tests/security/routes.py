"""The dashboard's routes as the running app serves them, and a valid form for each POST.

Shared by the cross-tenant and CSRF matrices; a route or path parameter missing here makes
their ``classified`` tests fail.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image
from starlette.routing import Mount, Route

from security.tenants import PASSWORD, World

# Which reference each path parameter of a dashboard route takes: (path prefix, name),
# the first match wins.
DASH_PARAMS: list[tuple[str, str, str]] = [
    ("/app/admin/workspaces/", "id", "ws_id"),
    ("/app/admin/reports/", "id", "report"),
    ("/app/admin/bans/", "id", "ban"),
    ("/app/account/sessions/", "session", "session"),
    ("/app/reset/", "token", "reset_token"),
    ("/app/invite/", "token", "invite_token"),
    ("/stats/", "token", "public_token"),
    ("/app/w/", "ws", "ws"),
    ("/app/w/", "id", "link"),
    ("/app/w/", "routing_rule", "routing_rule"),
    ("/app/w/", "job", "job"),
    ("/app/w/", "user", "user"),
    ("/app/w/", "key", "key"),
    ("/app/w/", "domain", "domain"),
    ("/app/w/", "sdomain", "short_domain"),
    ("/app/w/", "order", "order"),
    ("/app/w/", "rule", "rule"),
    ("/app/w/", "ikey", "ikey"),
    ("/app/w/", "hook", "webhook"),
    ("/app/w/", "fwd", "integration"),
    ("/app/w/", "invitation", "invitation"),
]


def param_kind(path: str, name: str) -> str | None:
    """The kind of reference path parameter ``name`` of route ``path`` takes; None if it
    is not classified (the battery then fails for that route)."""
    for prefix, param, kind in DASH_PARAMS:
        if path.startswith(prefix) and name == param:
            return kind
    return None


def fill(path: str, values: dict[str, str]) -> str:
    """The route's path with each parameter replaced by ``values[its kind]``."""
    return re.sub(
        r"\{(\w+)(?::\w+)?\}", lambda m: values[param_kind(path, m.group(1)) or "?"], path
    )


# A day the conversions API takes as an order's (not in the future, not too old).
_YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()

# A valid form for each POST route (as an owner would send it).
FORMS: dict[str, dict[str, Any]] = {
    "/app/signin": {"email": "owner-a@example.com", "password": PASSWORD},
    "/app/signout": {},
    "/app/lang": {"lang": "zh_CN", "next": "/app/"},
    "/app/w/{ws}/links": {"url": "https://shop.example.com/new", "title": "made"},
    "/app/w/{ws}/links/preview": {"url": "https://shop.example.com/p"},
    "/app/w/{ws}/links/{id}/edit": {"url": "https://shop.example.com/edited", "title": "e"},
    "/app/w/{ws}/links/{id}/archive": {"archived": "1"},
    "/app/w/{ws}/links/{id}/disable": {"disabled": "1"},
    # A link's campaign tools (dashboard/linktools.py); the link has a rule and a running
    # A/B test ({variant}: its second variant): stopped first, then started again
    # (before the link is deleted).
    "/app/w/{ws}/links/{id}/rules/{routing_rule}/move": {"to": "down"},
    "/app/w/{ws}/links/{id}/rules/{routing_rule}/delete": {},
    "/app/w/{ws}/links/{id}/rules": {
        "c0_type": "os",
        "c0_values": "ios",
        "action_type": "url",
        "action_url": "https://shop.example.com/rule-new",
    },
    "/app/w/{ws}/links/{id}/ab/stop": {"winner": "{variant}"},
    "/app/w/{ws}/links/{id}/ab": {
        "v0_weight": "1",
        "v1_url": "https://shop.example.com/ab-new",
        "v1_weight": "1",
    },
    "/app/w/{ws}/links/{id}/schedule": {
        "starts_at": "",
        "ends_at": "2030-01-01T00:00",
        "max_clicks": "1000",
        "expiry_url": "https://shop.example.com/ended",
    },
    "/app/w/{ws}/links/{id}/health/check": {},
    "/app/w/{ws}/links/{id}/public-stats": {},
    "/app/w/{ws}/links/{id}/public-stats/revoke": {},
    "/app/w/{ws}/links/{id}/delete": {},
    "/app/w/{ws}/health/check": {},
    "/app/w/{ws}/health/acknowledge": {},
    "/app/w/{ws}/bulk": {"text": "https://shop.example.com/bulk"},
    "/app/w/{ws}/import": {"source": "csv", "text": "url\nhttps://shop.example.com/imp\n"},
    "/app/w/{ws}/campaigns": {"name": "New campaign"},
    "/app/w/{ws}/settings/workspace": {
        "name": "Renamed",
        "timezone": "UTC",
        "fallback_url": "https://shop.example.com/",
    },
    "/app/w/{ws}/settings/members": {"email": "new@example.com", "role": "member"},
    "/app/w/{ws}/settings/members/{user}/role": {"role": "viewer"},
    "/app/w/{ws}/settings/members/{user}/remove": {},
    "/app/w/{ws}/settings/invitations/{invitation}/revoke": {},
    # Turning the rule off: turning it on needs the owner's own second factor first.
    "/app/w/{ws}/settings/security": {"require_totp": ""},
    # Issue 14, accounts. The password change is refused by its own check (the new
    # password is not confirmed), so a positive control does not change the password.
    "/app/signin/2fa": {"code": "123456"},
    "/app/forgot": {"email": "owner-a@example.com"},
    "/app/reset/{token}": {"new_password": "reset passphrase 1", "confirm_password": "x"},
    "/app/invite/{token}": {"password": "invited passphrase", "confirm_password": "x"},
    "/app/account/password": {
        "current_password": PASSWORD,
        "new_password": "changed passphrase",
        "confirm_password": "not the same",
    },
    "/app/account/sessions/signout": {},
    "/app/account/sessions/{session}/end": {},
    "/app/account/2fa": {"code": "123456", "password": PASSWORD},
    "/app/account/2fa/disable": {"password": PASSWORD},
    "/app/account/2fa/codes": {"password": PASSWORD},
    "/app/w/{ws}/settings/keys": {"name": "k", "scopes": "links:read"},
    "/app/w/{ws}/settings/keys/{key}/revoke": {},
    "/app/w/{ws}/settings/domains": {"hostname": "shop-new.example.com"},
    "/app/w/{ws}/settings/domains/{domain}/verify": {},
    "/app/w/{ws}/settings/domains/{domain}/delete": {},
    "/app/w/{ws}/settings/short-domains": {"hostname": "go-new.example.com"},
    "/app/w/{ws}/settings/short-domains/{sdomain}": {
        "root_url": "https://shop.example.com/home",
        "not_found_url": "",
        "robots": "",
    },
    "/app/w/{ws}/settings/short-domains/{sdomain}/verify": {},
    "/app/w/{ws}/settings/short-domains/{sdomain}/remove": {},
    "/app/w/{ws}/conversions/settings": {
        "window_days": "10",
        "model": "linear",
        "currency": "EUR",
        "commission_percent": "9",
    },
    "/app/w/{ws}/conversions/rules": {"kind": "tag", "ref": "any-tag", "percent": "7"},
    "/app/w/{ws}/conversions/rules/{rule}/delete": {},
    "/app/w/{ws}/conversions/keys": {"name": "store"},
    "/app/w/{ws}/conversions/keys/{ikey}/revoke": {},
    "/app/w/{ws}/conversions/spend": {
        "format": "generic",
        "text": "date,campaign,ad_group,spend,currency\n2026-11-01,spring,ad-a,1.50,USD",
    },
    "/app/w/{ws}/settings/qr-logo": {},  # the file is in FILES
    "/app/w/{ws}/settings/qr-logo/delete": {},
    "/app/w/{ws}/conversions/mapping": {
        "preset": "shopee",
        "currency": "PHP",
        "col_order_id": "Order ID",
    },
    "/app/w/{ws}/conversions/import": {
        "mode": "import",
        # Read the same under the mapping above (Shopee) and the default (generic one).
        "text": "Order ID,Order Creation Date,Date,Grand Total,Total\n"
        f"CSV-1,{_YESTERDAY} 10:00,{_YESTERDAY} 10:00,10.00,10.00",
    },
    "/app/w/{ws}/settings/webhooks": {"url": "http://127.0.0.1:9/in", "events": "click"},
    "/app/w/{ws}/settings/webhooks/replay": {},
    "/app/w/{ws}/settings/webhooks/{hook}/delete": {},
    "/app/w/{ws}/settings/integrations": {
        "kind": "meta",
        "name": "Meta",
        "account_id": "1234567890",
        "credential": "EAAformToken1234567890abcd",
        "events": "purchase",
        "sample": "1",
    },
    "/app/w/{ws}/settings/integrations/{fwd}/test": {},
    "/app/w/{ws}/settings/integrations/{fwd}/replay": {},
    "/app/w/{ws}/settings/integrations/{fwd}/delete": {},
    "/app/report": {
        "link": "http://hop.test/NoSuchCode1",
        "category": "phishing",
        "message": "looks like phishing",
        "contact_email": "",
    },
    "/app/admin/workspaces/{id}/verify": {"reason": "checked"},
    "/app/admin/workspaces/{id}/suspend": {"reason": "phishing"},
    "/app/admin/workspaces/{id}/reinstate": {"reason": "fixed"},
    "/app/admin/users/signout": {"email": "member-b@example.com"},
    "/app/admin/reports/{id}/resolve": {"note": "done", "ban": ""},
    "/app/admin/reports/{id}/dismiss": {"note": "not phishing"},
    "/app/admin/bans": {"link": "http://hop.test/NoSuchCode1", "reason": "phishing"},
    "/app/admin/bans/{id}/unban": {"reason": "appeal granted"},
    "/app/admin/rates": {"text": "2026-11-01,USD,CNY,7.1"},
}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "#d90429").save(out, format="PNG")
    return out.getvalue()


# The files of the POST routes that take an upload and nothing else (sent with FORMS).
FILES: dict[str, dict[str, tuple[str, bytes, str]]] = {
    "/app/w/{ws}/settings/qr-logo": {"logo": ("logo.png", _png(), "image/png")},
}


def dashboard_routes(world: World) -> list[tuple[str, str]]:
    """(method, path) of every route the running dashboard serves (HEAD aside)."""
    out = []
    for route in world.dash.app.dashboard.router.routes:
        if isinstance(route, Mount):
            assert route.path == "/app/static", f"unclassified mount {route.path}"
            continue
        assert isinstance(route, Route), f"unclassified route type {route!r}"
        for method in sorted((route.methods or set()) - {"HEAD"}):
            out.append((method, route.path))
    return out


def path_params(path: str) -> list[str]:
    return re.findall(r"\{(\w+)(?::\w+)?\}", path)
