"""Stored-XSS battery: ≥ 100 payloads through every field a seller or a visitor controls,
every dashboard view rendered in Chromium → nothing runs, nothing is injected.

Fields: link title, notes, tags, destination query and fragment, the five UTM values,
campaign names and external IDs, the workspace name, API key names, bulk
upload cells (echoed in row errors), search and filter parameters, the user agent,
referrer and Accept-Language of real clicks (and breakdown values in the rollups, as if
the worker let one through), report form messages, ban and suspension reasons, the
hostname typed into the domain form and a domain check's recorded reason. Custom
codes, channels, seller IDs and e-mail addresses only take a restricted alphabet, so no
payload fits.

Views: every GET route of the dashboard's routing table (a new route fails
``test_every_view_is_visited`` until it gets parameters here), list pages, analytics
scopes, forms re-rendered with errors, the admin pages, the public report form.

Canaries (installed before any page script): a trap on ``window.__xss`` (every payload
sets it or opens a dialog), ``alert``/``confirm``/``prompt`` replaced by recorders, a
Playwright dialog handler, page errors, CSP violation events (an inline script or handler
that reached the DOM is refused by the CSP, so a violation means escaping failed), and a
DOM scan for injected handlers, inline scripts, frames, ``javascript:`` URLs and styles.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from browser_server import HOST, PASSWORD, SLUG, Server, run_async
from browser_session import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "dashboard"))
from xss_payloads import PAYLOADS as CLASSIC

ADMIN = "operator@shop.test"
# Files, not pages: CSV downloads and QR images (which hold only the short URL).
DOWNLOADS = (".csv", ".png", ".svg")
# Beyond the classic vectors: encodings, template and CSS injection, mXSS, attribute and
# element breakouts, scheme tricks, Unicode look-alikes.
EXTRA: tuple[str, ...] = (
    "{{constructor.constructor('window.__xss=1')()}}",
    "{{7*7}}",
    "${alert(1)}",
    "#{7*7}<%= 7*7 %>",
    "[[${7*7}]]",
    "</script><script>window.__xss=1</script>",
    "</style><script>window.__xss=1</script>",
    "</noscript><script>window.__xss=1</script>",
    "</template><script>window.__xss=1</script>",
    "</option></select><img src=x onerror=window.__xss=1>",
    "</a><a href=javascript:window.__xss=1>x</a>",
    '" autofocus onfocus="window.__xss=1',
    "' autofocus onfocus='window.__xss=1",
    "` onmouseover=window.__xss=1 `",
    '"><script>window.__xss=1</script>',
    "';window.__xss=1;//",
    '";window.__xss=1;//',
    "\\';window.__xss=1;//",
    "JaVaScRiPt:window.__xss=1",
    "java&#x09;script:window.__xss=1",
    "&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:window.__xss=1",
    "data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "%3Cscript%3Ewindow.__xss=1%3C/script%3E",
    "%253Cscript%253Ewindow.__xss=1%253C/script%253E",
    "&#60;script&#62;window.__xss=1&#60;/script&#62;",
    "&#x3C;img src=x onerror=window.__xss=1&#x3E;",
    "\\u003cscript\\u003ewindow.__xss=1\\u003c/script\\u003e",
    "\\x3cscript\\x3ewindow.__xss=1\\x3c/script\\x3e",
    "+ADw-script+AD4-window.__xss=1+ADw-/script+AD4-",
    "\uff1cscript\uff1ewindow.__xss=1\uff1c/script\uff1e",  # fullwidth < >
    "\u2039script\u203awindow.__xss=1\u2039/script\u203a",  # angle quotes
    "<\u017fcript>window.__xss=1</\u017fcript>",  # long s, upper-cases to S
    "<scr<script>ipt>window.__xss=1</scr</script>ipt>",
    "<<script>script>window.__xss=1<</script>/script>",
    "<img src=`x` onerror=window.__xss=1>",
    "<img/src=x/onerror=window.__xss=1>",
    "<svg><animate onbegin=window.__xss=1 attributeName=x dur=1s>",
    "<svg><a xlink:href=javascript:window.__xss=1><text y=20>x</text></a></svg>",
    "<svg></p><style><a id='</style><img src=1 onerror=window.__xss=1>'>",
    "<math><mi xlink:href=javascript:window.__xss=1>x</mi></math>",
    "<form><math><mtext></form><form><mglyph><svg><mtext><style><path id=</style>"
    "<img onerror=window.__xss=1 src>",
    "<table><td background=javascript:window.__xss=1>",
    "<xmp><p title='</xmp><img src=x onerror=window.__xss=1>'>",
    "<plaintext><script>window.__xss=1</script>",
    "<marquee onstart=window.__xss=1>x</marquee>",
    "<isindex type=image src=1 onerror=window.__xss=1>",
    "<embed src=javascript:window.__xss=1>",
    "<frameset onload=window.__xss=1>",
    "<div style=\"background:url('javascript:window.__xss=1')\">x</div>",
    '<div style="width:expression(window.__xss=1)">x</div>',
    "x;background:url(//evil.test/a.png)",
    "red;}</style><style>body{display:none}</style>",
    "@import 'http://evil.test/x.css';",
    "<link rel=import href=data:text/html,<script>window.__xss=1</script>>",
    "</title><title>pwned",
    "</textarea><textarea>",
    "<!--",
    "-->",
    "]]><script>window.__xss=1</script>",
    "<![CDATA[<script>window.__xss=1</script>]]>",
    '<?xml version="1.0"?><script>window.__xss=1</script>',
    '<a href="&#x6a;avascript:window.__xss=1">x</a>',
    "<img src=x onerror=&#119;indow.__xss=1>",
    "<img src=x onerror=eval(atob('d2luZG93Ll9feHNzPTE='))>",
    "<img src=x onerror=import('data:text/javascript,window.__xss=1')>",
    "<script src=data:,window.__xss=1></script>",
    "<script src=//evil.test/x.js></script>",
    "<iframe src=javascript:window.parent.__xss=1>",
    "<object data=data:text/html,<script>parent.__xss=1</script>>",
    "<input type=image src=x onerror=window.__xss=1>",
    "<select autofocus onfocus=window.__xss=1>",
    "<textarea autofocus onfocus=window.__xss=1>",
    "<keygen autofocus onfocus=window.__xss=1>",
    "<audio src=x onerror=window.__xss=1>",
    "<body onpageshow=window.__xss=1>",
    "<svg><set onbegin=window.__xss=1 attributename=x to=1>",
    '"><img src=x onerror=window.__xss=1>双11',
    "🙂<img src=x onerror=window.__xss=1>🙂",
    "‮<img src=x onerror=window.__xss=1>",
    '<a href="https://shop.example.com/" target=_blank>free shipping</a>',
    "<h1>SALE</h1><marquee>",
)
PAYLOADS: tuple[str, ...] = tuple(dict.fromkeys((*CLASSIC, *EXTRA)))
ASCII = [p for p in PAYLOADS if p.isascii()]
assert len(PAYLOADS) >= 200

CANARY = """
(() => {
  const hits = [];
  Object.defineProperty(window, '__xssHits', {value: hits});
  Object.defineProperty(window, '__xss', {
    configurable: false,
    get() { return undefined; },
    set(v) { hits.push('window.__xss = ' + v); },
  });
  for (const name of ['alert', 'confirm', 'prompt', 'print']) {
    window[name] = function (m) { hits.push(name + '(' + m + ')'); };
  }
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__violations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sample);
  });
})();
"""
# Markup a payload could have injected (our templates have none of it).
SCAN = """
() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.startsWith('on')) bad.push(el.tagName + '[' + a.name + ']');
      if (a.name === 'style') bad.push(el.tagName + '[style]');
      if (/^(href|src|action|formaction|data|xlink:href|background|srcdoc)$/.test(a.name)
          && /^\\s*(javascript|vbscript|data:text)/i.test(a.value)) {
        bad.push(el.tagName + '[' + a.name + '=' + a.value.slice(0, 40) + ']');
      }
    }
    const tag = el.tagName.toLowerCase();
    if (['iframe', 'object', 'embed', 'base', 'frame', 'frameset', 'style', 'marquee',
         'xmp', 'plaintext', 'isindex', 'keygen', 'math', 'animate', 'set'].includes(tag)) {
      bad.push(tag);
    }
    if (tag === 'script' && !(el.src || '').includes('/app/static/')) bad.push('script ' + el.src);
    if (tag === 'link' && !(el.href || '').includes('/app/static/')) bad.push('link ' + el.href);
    if (tag === 'meta' && el.httpEquiv && !el.closest('noscript')) bad.push('meta ' + el.httpEquiv);
    if (tag === 'img' && !(el.src || '').startsWith(location.origin)
        && !el.src.startsWith('data:image/')) {
      bad.push('img ' + el.src);
    }
  }
  return bad;
}
"""


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


async def _seed(server: Server) -> dict[str, Any]:
    """Every seller-controlled field of the workspace filled with payloads, through the
    services (what the API, the dashboard and the CLI all call)."""
    import factories
    from hoplink.accounts import invitations, recovery, sessions
    from hoplink.accounts.apikeys import create_api_key
    from hoplink.accounts.models import Scope
    from hoplink.accounts.users import create_user
    from hoplink.clicks.enriched import Counts, RollupDelta
    from hoplink.config import Settings
    from hoplink.conversions.ingest_keys import create_ingest_key
    from hoplink.conversions.models import Source
    from hoplink.conversions.parse import parse_event
    from hoplink.conversions.service import record_event
    from hoplink.conversions.settings import put_rule
    from hoplink.domains import service as short_domains
    from hoplink.domains.verification import Outcome as ShortOutcome
    from hoplink.errors import InvalidInput
    from hoplink.forwarding import service as forwarding
    from hoplink.forwarding.models import Kind
    from hoplink.ids import utcnow
    from hoplink.links import public_stats
    from hoplink.links.campaigns import create_campaign
    from hoplink.links.service import LinkRules, LinkSpec, create_links
    from hoplink.links.urls import UTM_FIELDS
    from hoplink.moderation import reports
    from hoplink.moderation import service as moderation
    from hoplink.safety import destination_domains
    from hoplink.safety.policy import DestinationPolicy
    from hoplink.storage.database import Database
    from hoplink.storage.rollups import RollupRepo
    from hoplink.webhooks.secrets import SecretBox
    from hoplink.workspaces.edit import WorkspaceEdit
    from hoplink.workspaces.models import Role, WorkspaceStatus
    from hoplink.workspaces.service import create_workspace, update_workspace

    db = Database.from_url(f"sqlite+aiosqlite:///{server.data_dir / 'hoplink.db'}")
    accepted: dict[str, int] = {}
    try:
        async with db.transaction() as tx:
            admin = await create_user(tx, email=ADMIN, password=PASSWORD, is_platform_admin=True)
            ws = await tx.workspaces.find(SLUG)
            domain = await tx.short_domains.by_hostname(HOST)
            assert ws is not None and domain is not None
            ws = await update_workspace(
                tx,
                workspace_id=ws.id,
                edit=WorkspaceEdit(name="<img src=x onerror=window.__xss=1>\"'</title>{{7*7}}"),
            )
            campaigns = []
            for i, p in enumerate(PAYLOADS):
                for name, external_id in ((p, p[:100]), (p, None), (f"campaign {i}", None)):
                    try:
                        campaigns.append(
                            await create_campaign(
                                tx, workspace_id=ws.id, name=name[:200], external_id=external_id
                            )
                        )
                        break
                    except InvalidInput:  # refused (e.g. a control character): not stored
                        continue
            accepted["campaign names"] = sum(c.name in PAYLOADS for c in campaigns)
            accepted["campaign external ids"] = sum(bool(c.external_id) for c in campaigns)
            specs = []
            for i, p in enumerate(PAYLOADS):
                raw_url = f"https://shop.example.com/xss/{i}?q={p}&x=1#{p}"
                specs.append(
                    LinkSpec(
                        url=raw_url,
                        title=p[:300],
                        notes=p,
                        tags=[p[:64].replace(",", " "), "xss"],
                        utm=dict.fromkeys(UTM_FIELDS, p),
                        campaign_id=campaigns[i].id,
                    )
                )
            results = await create_links(
                tx, workspace=ws, domain=domain, specs=specs, actor=None, rules=LinkRules()
            )
            # A destination the URL rules refused raw is stored percent-encoded instead.
            retry = [i for i, r in enumerate(results) if isinstance(r, Exception)]
            if retry:
                again = [
                    LinkSpec(
                        url=f"https://shop.example.com/xss/{i}?q={quote(PAYLOADS[i])}"
                        f"#{quote(PAYLOADS[i])}",
                        title=specs[i].title,
                        notes=specs[i].notes,
                        tags=specs[i].tags,
                        utm=specs[i].utm,
                        campaign_id=specs[i].campaign_id,
                    )
                    for i in retry
                ]
                for i, r in zip(
                    retry,
                    await create_links(
                        tx, workspace=ws, domain=domain, specs=again, actor=None, rules=LinkRules()
                    ),
                    strict=True,
                ):
                    results[i] = r
            links = [r for r in results if not isinstance(r, Exception)]
            accepted["links"] = len(links)
            # Routing rules named with payloads (their query values too) on the links whose
            # pages the battery renders, each also shown in the rule builder for editing.
            from hoplink.links import rules as link_rules
            from hoplink.links.routing import app_presets

            edit_rules: list[str] = []
            for n, link in enumerate(links[:: max(1, len(links) // 10)][:10]):
                for p in PAYLOADS[n * 3 : n * 3 + 3]:
                    try:
                        _, rule = await link_rules.add_rule(
                            tx, workspace=ws, link_id=link.id, position=None, actor=None,
                            policy=None, presets=app_presets(),
                            rule={"name": p[:100],
                                  "conditions": [{"type": "query", "name": "q",
                                                  "equals": p[:200]}],
                                  "action": {"type": "url",
                                             "url": "https://shop.example.com/r"}},
                        )  # fmt: skip
                    except InvalidInput:  # refused (e.g. a control character): not stored
                        continue
                    edit_rules.append(f"{link.id}?edit_rule={rule.id}")
            assert len(edit_rules) >= 28, edit_rules  # (of 30) the payloads are stored
            accepted["raw destinations"] = len(PAYLOADS) - len(retry)
            key_ids = []
            for p in PAYLOADS[:20]:
                key, _ = await create_api_key(
                    tx,
                    workspace=ws,
                    name=p[:100],
                    scopes=frozenset(Scope),
                    created_by=None,
                    operator=True,
                )
                key_ids.append(key.id)
            # Visitors' reports and the operator's reasons, shown on the admin pages.
            for p in PAYLOADS[:40]:
                await reports.submit_report(
                    tx,
                    link=f"http://{HOST}/{links[0].code}",
                    category="phishing",
                    message=p,
                    contact_email="reporter@example.com",
                    reporter_hash="h" * 16,
                    default_host=HOST,
                )
            await moderation.ban_link(tx, link_id=links[1].id, reason=PAYLOADS[3][:200], actor=None)
            # A claimed destination domain whose last check "found" payloads (the reason
            # is the verifier's own text; escaped all the same).
            claimed = await destination_domains.add_domain(
                tx, workspace=ws, hostname="xss-shop.example.com", policy=DestinationPolicy()
            )
            await destination_domains.record_outcome(
                tx,
                workspace=ws,
                domain=claimed,
                outcome=destination_domains.Outcome(None, " ".join(PAYLOADS[10:14])[:300]),
                actor=None,
            )
            # A custom short domain (issue 16) whose robots.txt and last check carry
            # payloads, and a public stats page of the link whose breakdowns do (below).
            short = await short_domains.add_domain(
                tx,
                workspace=ws,
                hostname="go.xss-brand.example.com",
                settings=Settings(custom_domains="automatic"),
                policy=DestinationPolicy(),
            )
            await short_domains.update_settings(
                tx,
                workspace=ws,
                ref=short.id,
                policy=DestinationPolicy(),
                robots="\n".join(PAYLOADS[20:40])[:3900],
            )
            await short_domains.record_check(
                tx,
                domain=short,
                outcome=ShortOutcome(None, " ".join(PAYLOADS[40:44])[:300]),
                actor=None,
            )
            public_token = await public_stats.enable(tx, workspace=ws, link_id=links[0].id)
            # Conversions (issue 10): order ids, SKUs, key names, tags and campaign names
            # of the spend import are the seller's (or their shop's) text.
            orders = []
            for i, p in enumerate(PAYLOADS[:60]):
                try:
                    event, _ = parse_event(
                        {
                            "type": "purchase",
                            "order_id": p[:128].strip() or f"order-{i}",
                            "amount": 1000 + i,
                            "currency": "USD",
                            "items": [{"sku": p[:100], "quantity": 1, "price": 1000}],
                        },
                        now=utcnow(),
                    )
                except InvalidInput:
                    continue
                got = await record_event(
                    tx,
                    workspace_id=ws.id,
                    event=event,
                    settings=await tx.conversions(ws.id).settings(),
                    source=Source.API,
                    now=utcnow(),
                )
                if got.order is not None:
                    orders.append(got.order.id)
            assert len(orders) >= 50, len(orders)  # those with a control character refused
            await create_ingest_key(tx, workspace_id=ws.id, name=PAYLOADS[2][:100], created_by=None)
            await put_rule(
                tx,
                workspace_id=ws.id,
                kind="tag",
                ref=PAYLOADS[4][:64].replace(",", " "),  # a tag of the links above
                percent=9,
                commission_range=(5.0, 12.0),
            )
            # An integration named with a payload, with a dead letter whose platform
            # answer is one (the answer is the platform's text, shown as is).
            integration = await forwarding.create_destination(
                tx,
                workspace_id=ws.id,
                kind=Kind.META,
                name=PAYLOADS[6][:100] or "x",
                account_id="1234567890",
                credential="EAAxssToken1234567890abcd",
                events=("purchase",),
                box=SecretBox("xss-battery-secret-" + "k" * 32),
            )
            for n, p in enumerate(PAYLOADS[10:20]):
                await factories.dead_forward_event(
                    tx, workspace_id=ws.id, destination_id=integration.id,
                    batch_id=f"fwb_xss{n:03d}", key=p[:64] or "x", error=PAYLOADS[n + 7][:300],
                )  # fmt: skip
            other = await create_workspace(
                tx, name=PAYLOADS[5][:200], status=WorkspaceStatus.VERIFIED
            )
            await moderation.suspend_workspace(
                tx, ref=other.id, reason=PAYLOADS[9][:200], actor=None
            )
            # Accounts (issue 14): sessions whose user agents are payloads (the account
            # page lists them), an invitation into the payload-named workspace (its page
            # names the workspace) and a reset link.
            for p in PAYLOADS[:20]:
                await sessions.start_session(tx, user_id=admin.id, user_agent=p)
            _, invite_token = await invitations.invite(
                tx,
                workspace=ws,
                email="invitee@shop.test",
                role=Role.MEMBER,
                lifetime=timedelta(days=7),
                actor=None,
            )
            reset_token, _ = await recovery.issue_reset(
                tx, user=admin, lifetime=timedelta(minutes=30), origin="cli", actor=None
            )
        # Breakdown values as if the worker let a payload through (defence in depth).
        hour = int(time.time() // 3600)
        delta = RollupDelta()
        for j, p in enumerate(PAYLOADS[:80]):
            counts = Counts(pv=100 - j, human_pv=100 - j, uv_day=1)
            for dim in ("country", "os", "browser", "referrer", "language", "bot", "device"):
                delta.link_dim_hours[(links[0].id, ws.id, hour, dim, p)] = counts
                delta.workspace_dim_hours[(ws.id, hour, dim, p)] = counts
        async with db.transaction() as tx:
            await RollupRepo(tx.conn).apply(delta)
        return {
            "links": [link.id for link in links],
            "codes": [link.code for link in links],
            "campaigns": [c.id for c in campaigns],
            "domain": claimed.id,
            "sdomain": short.id,
            "fwd": integration.id,
            "token": public_token,
            "orders": orders,
            "keys": key_ids,
            "edit_rules": edit_rules,
            "accepted": accepted,
            "reset_token": reset_token,
            "invite_token": invite_token,
        }
    finally:
        await db.dispose()


def _install(session: Session) -> None:
    session.context.add_init_script(CANARY)


def _check(session: Session, path: str, expect: tuple[int, ...] = (200,)) -> None:
    response = session.go(path)
    assert response is not None and response.status in expect, (path, response and response.status)
    session.page.wait_for_load_state("load")
    _assert_inert(session, path)


def _assert_inert(session: Session, where: str) -> None:
    page = session.page
    hits = page.evaluate("window.__xssHits || ['canary missing']")
    assert hits == [], (where, hits)
    assert page.evaluate("window.__violations") == [], (where, page.evaluate("window.__violations"))
    assert session.csp_violations() == [], (where, session.csp_violations())
    assert page.evaluate(SCAN) == [], (where, page.evaluate(SCAN)[:10])
    assert session.watch.dialogs == [], (where, session.watch.dialogs)
    assert session.watch.errors == [], (where, session.watch.errors)


def _views(seeded: dict[str, Any], job: str) -> dict[str, list[str]]:
    """The pages to render for each GET route of the dashboard's routing table."""
    from hoplink.dashboard.app import routes

    base = f"/app/w/{SLUG}"
    links = seeded["links"]
    sample = links[:: max(1, len(links) // 10)][:10]
    n_pages = -(-len(links) // 100)
    values = {
        "ws": [SLUG],
        "id": sample,
        "job": [job],
        "domain": [seeded["domain"]],
        "sdomain": [seeded["sdomain"]],
        "fwd": [seeded["fwd"]],  # the delete confirmation page names the integration
        "token": [seeded["token"]],
        "order": seeded["orders"][:10],
        "key": seeded["keys"][:5],  # the revoke confirmation page shows the key's name
    }
    views: dict[str, list[str]] = {}
    for route in routes():
        methods = getattr(route, "methods", None) or set()
        if "GET" not in methods or route.path.endswith(DOWNLOADS):
            continue
        params = re.findall(r"\{(\w+)(?::\w+)?\}", route.path)
        unknown = [p for p in params if p not in values]
        assert unknown == [], f"GET {route.path}: give the battery values for {unknown}"
        paths = [route.path]
        for name in params:
            paths = [p.replace("{" + name + "}", v) for p in paths for v in values[name]]
        views[route.path] = paths
    q = quote(PAYLOADS[0])
    views[f"{base}/links"] = [
        *(f"{base}/links?per_page=100&page={n}" for n in range(1, n_pages + 1)),
        f"{base}/links?tag=xss&per_page=100&archived=all",
        f"{base}/links?q={q}&tag={q}&channel={q}&campaign={q}&sort={q}",
    ]
    views[f"{base}/analytics"] = [
        f"{base}/analytics?range=24h",
        f"{base}/analytics?scope=link:{links[0]}&range=24h",
        f"{base}/analytics?scope=campaign:{seeded['campaigns'][0]}&range=7d",
        f"{base}/analytics?scope=tag:xss&range=24h",
        f"{base}/analytics?range=custom&from={q}&to={q}",
    ]
    # The QR options form echoes what it was given, with its errors.
    views["/app/w/{ws}/links/{id}"].append(
        f"{base}/links/{links[0]}?dark={q}&light={q}&size={q}&margin={q}&error={q}&logo={q}"
    )
    views[f"{base}/orders"] = [f"{base}/orders", f"{base}/orders?q={q}&filter={q}&page={q}"]
    # A link's page with the rule builder filled for editing a rule named with a payload.
    views["/app/w/{ws}/links/{id}"] += [f"{base}/links/{x}" for x in seeded["edit_rules"][:10]]
    views["/app/signin"] = [f"/app/signin?next={q}"]
    # {token} names three secrets: each route is shown with its own.
    views["/app/invite/{token}"] = [f"/app/invite/{seeded['invite_token']}"]
    views["/app/reset/{token}"] = [f"/app/reset/{seeded['reset_token']}"]
    views["/stats/{token}"] = [f"/stats/{seeded['token']}"]
    views["/app/report"] = ["/app/report", f"/app/report?link={q}"]
    return views


def _canaries_work(session: Session) -> None:
    """The canaries can fire: markup injected into one of our pages is found by the scan
    and refused by the CSP, and the trap records a write."""
    page = session.page
    _check(session, "/app/signin")
    page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.__xss=1\">')"
    )
    page.wait_for_function("window.__violations.length > 0")
    assert "IMG[onerror]" in page.evaluate(SCAN)
    page.evaluate("window.__xss = 1")
    assert page.evaluate("window.__xssHits") == ["window.__xss = 1"]


def test_payloads_never_run_on_any_view(session: Session) -> None:
    _install(session)
    _canaries_work(session)
    seeded = run_async(lambda: _seed(session.server))
    accepted = seeded["accepted"]
    # Only the payloads with a control character (the bidi override) are refused outright.
    stored = {k: v for k, v in accepted.items() if k != "raw destinations"}
    assert min(stored.values()) >= len(PAYLOADS) - 2, accepted
    # Most raw payloads are not valid URL text; those that are stay raw in the destination.
    assert accepted["raw destinations"] >= 20, accepted
    # Visitors' own text, sent with real clicks on the short links (headers are ASCII).
    for i, payload in enumerate(ASCII[:60]):
        answer = session.server.short(
            seeded["codes"][i + 2],
            headers={
                "user-agent": payload,
                "referer": f"https://x.test/{payload}",
                "accept-language": payload,
            },
        )
        assert answer.status_code == 302
    # Signed-out pages first: the report form, with payloads in every field.
    _check(session, "/app/report")
    page = session.page
    page.locator("textarea").first.fill(PAYLOADS[1])
    for field in page.locator("input[type=text], input[type=email], input[type=url]").all():
        field.fill(PAYLOADS[4][:100])
    page.locator("form[action='/app/report'] button[type=submit]").click()
    page.wait_for_load_state("load")
    _assert_inert(session, "report form, submitted")
    session.sign_in(ADMIN)
    # A bulk upload whose cells are payloads: the job page echoes them in row errors.
    base = f"/app/w/{SLUG}"
    rows = [
        {"url": "https://shop.example.com/bulk/ok", "title": p, "campaign": "", "channel": ""}
        for p in PAYLOADS[:20]
    ] + [{"url": p, "title": p, "campaign": p, "channel": p[:32]} for p in PAYLOADS[20:60]]
    _check(session, f"{base}/bulk")
    page.locator("textarea[name=text]").fill(_csv(rows))
    page.locator("form[action$='/bulk'] button.primary[type=submit]").click()
    page.wait_for_url(re.compile(r".*/bulk/[^/]+$"))
    job = page.url.rsplit("/", 1)[1]
    page.wait_for_timeout(1500)
    _assert_inert(session, "bulk job")
    # Forms re-rendered with the payload and its error message.
    _check(session, f"{base}/links/new")
    page.get_by_label("Product URL").fill(PAYLOADS[6])
    page.get_by_label("Title (optional)").fill(PAYLOADS[2])
    page.get_by_label("UTM content (optional)").fill(PAYLOADS[0])
    page.locator("#link-form button.primary[type=submit]").click()
    page.wait_for_load_state("load")
    _assert_inert(session, "new link form with errors")
    _check(session, f"{base}/settings/domains")
    page.locator("#f-hostname").fill(PAYLOADS[6])
    page.locator("form[action$='/settings/domains'] button.primary[type=submit]").click()
    page.wait_for_load_state("load")
    _assert_inert(session, "domain form with errors")
    visited = 0
    for paths in _views(seeded, job).values():
        for path in paths:
            # Payloads in the query string may be refused (with a page echoing them).
            reflected = quote(PAYLOADS[0]) in path
            _check(session, path, (200, 400, 404, 422) if reflected else (200,))
            visited += 1
    # The analytics page's auto-refresh swaps its fragment in: still nothing runs.
    _check(session, f"{base}/analytics?range=24h")
    page.wait_for_timeout(3500)
    _assert_inert(session, "analytics after refresh")
    # An error page that echoes the path.
    _check(session, f"/app/w/{SLUG}/links/{quote(PAYLOADS[0])}", (404,))
    session.screenshot("xss-battery-analytics")
    assert visited >= 40, visited
    print(f"xss battery: {len(PAYLOADS)} payloads, {visited} views, accepted {accepted}")
