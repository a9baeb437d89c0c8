"""Two tenants, A and B, each with everything a tenant owns, on the real app.

The battery points A's credentials (every API key scope, a signed-in dashboard member) at
B's objects and compares each answer with the answer for an ID that does not exist; the
helpers here build the tenants, record clicks through the real worker and dump every
table for before/after comparisons.
"""

from __future__ import annotations

import itertools
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "integration" / "dashboard"))

from dashboard_harness import HOST, Browser, Dash  # noqa: E402
from dashboard_harness import PASSWORD as PASSWORD  # noqa: E402
from dashboard_harness import running_dashboard as running_dashboard  # noqa: E402

import factories  # noqa: E402
from hoplink.accounts import invitations, recovery, sessions  # noqa: E402
from hoplink.accounts.apikeys import create_api_key  # noqa: E402
from hoplink.accounts.models import Scope  # noqa: E402
from hoplink.clicks.models import Click  # noqa: E402
from hoplink.conversions.ingest_keys import create_ingest_key  # noqa: E402
from hoplink.conversions.models import Source  # noqa: E402
from hoplink.conversions.parse import parse_event  # noqa: E402
from hoplink.conversions.service import record_event  # noqa: E402
from hoplink.conversions.settings import put_rule  # noqa: E402
from hoplink.domains import service as short_domains  # noqa: E402
from hoplink.forwarding import service as forwarding  # noqa: E402
from hoplink.forwarding.models import Kind  # noqa: E402
from hoplink.ids import random_base62, utcnow  # noqa: E402
from hoplink.ingest.worker import Worker  # noqa: E402
from hoplink.linkhealth.models import HealthEvent  # noqa: E402
from hoplink.links import experiments, public_stats  # noqa: E402
from hoplink.links import rules as link_rules  # noqa: E402
from hoplink.links.campaigns import create_campaign  # noqa: E402
from hoplink.links.routing import app_presets  # noqa: E402
from hoplink.moderation import reports  # noqa: E402
from hoplink.moderation import service as moderation  # noqa: E402
from hoplink.safety import destination_domains  # noqa: E402
from hoplink.safety.policy import policy_from_settings  # noqa: E402
from hoplink.storage.database import Database  # noqa: E402
from hoplink.storage.tables import metadata  # noqa: E402
from hoplink.webhooks import service as webhooks  # noqa: E402
from hoplink.webhooks.models import Attempt  # noqa: E402
from hoplink.webhooks.outbox import emit  # noqa: E402
from hoplink.webhooks.secrets import SecretBox  # noqa: E402
from hoplink.workspaces.models import Role, Workspace  # noqa: E402

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
# One single-scope key per scope, plus one with every scope.
KEY_LABELS = [*(s.value for s in Scope), "all"]
_clicks = itertools.count()


@dataclass
class Key:
    id: str
    raw: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.raw}"}


@dataclass
class Tenant:
    """One workspace and the IDs of what it owns."""

    ws: Workspace
    owner_email: str
    owner_id: str
    member_id: str
    link_id: str
    link_code: str
    campaign_id: str
    tag: str
    channel: str
    keys: dict[str, Key]
    domain_id: str
    domain_host: str
    report_id: str
    # A verified custom short domain (issue 16).
    short_domain_id: str
    ban_id: str
    webhook_id: str = ""
    message_id: str = ""  # a failed webhook message (replayable)
    integration_id: str = ""  # an ad platform destination (issue 11)
    fwd_event_id: str = ""  # a dead-lettered forwarded event (replayable)
    health_event: str = ""  # a destination health notification of the link
    rule_id: str = ""
    variant_id: str = ""
    bulk_job: str = ""
    browser: Browser | None = None
    # Conversions (issue 10): an attributed order (its id and the store's order id), a
    # commission rule and an ingest key.
    order: str = ""
    order_ext: str = ""
    rule: str = ""
    ikey: str = ""
    # Accounts (issue 14): a second session of the owner's, a pending invitation, and the
    # secrets of a member's reset link and of the invitation's link.
    session: str = ""
    invitation: str = ""
    reset_token: str = ""
    public_token: str = ""  # the link's public stats page (issue 16)
    invite_token: str = ""

    def ids(self) -> dict[str, str]:
        """Each kind of reference a route can take, with this tenant's value."""
        return {
            "ws": self.ws.slug,
            "link": self.link_id,
            "campaign": self.campaign_id,
            "tag": self.tag,
            "channel": self.channel,
            "key": self.keys["all"].id,
            "user": self.member_id,
            "job": self.bulk_job,
            "ws_id": self.ws.id,
            "domain": self.domain_id,
            "host": self.domain_host,
            "short_domain": self.short_domain_id,
            "short_host": f"go-{self.ws.slug}.example.com",
            "report": self.report_id,
            "ban": self.ban_id,
            "order": self.order,
            "order_ext": self.order_ext,
            "rule": self.rule,
            "ikey": self.ikey,
            "webhook": self.webhook_id,
            "message": self.message_id,
            "integration": self.integration_id,
            "fwd_event": self.fwd_event_id,
            "health_event": self.health_event,
            "routing_rule": self.rule_id,
            "variant": self.variant_id,
            "session": self.session,
            "invitation": self.invitation,
            "reset_token": self.reset_token,
            "public_token": self.public_token,
            "invite_token": self.invite_token,
        }


def missing_like(value: str) -> str:
    """A reference of the same shape and length as ``value`` that names nothing."""
    match = re.fullmatch(r"([a-z]+_)([0-9A-Za-z]+)", value)
    if match:
        return match.group(1) + random_base62(len(match.group(2)))
    return "".join(random_base62(1).lower() if c.isalnum() else c for c in value)


@dataclass
class World:
    dash: Dash
    a: Tenant
    b: Tenant
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        return self.dash.db


def _click(link_id: str, workspace_id: str, ts: float, **kw: str) -> Click:
    values: dict[str, Any] = {
        "click_id": f"sec{next(_clicks):013d}",
        "ts": ts,
        "link_id": link_id,
        "workspace_id": workspace_id,
        "domain": "hop.test",
        "method": "GET",
        "user_agent": PHONE,
        "referrer": "https://m.facebook.com/",
        "accept_language": "en-US,en;q=0.9",
        "country": "US",
        "visitor_hash": f"v{next(_clicks)}",
    }
    values.update(kw)
    return Click(**values)


class _NoSource:
    async def read(self, max_items: int, timeout: float) -> tuple[list[Click], object]:  # noqa: ASYNC109
        return [], None

    async def ack(self, token: object) -> None:
        return None


async def record_clicks(db: Database, clicks: list[Click]) -> None:
    """Through the real worker pipeline: raw click log, rollups and seen-sets."""
    await Worker(db=db, source=_NoSource(), retry_base=0.001).process(clicks)


async def make_tenant(dash: Dash, label: str) -> Tenant:
    channel = f"{label}-secret-channel"
    ws = await dash.workspace(f"Store {label.upper()}", custom_channels=[channel])
    owner_email = f"owner-{label}@example.com"
    owner = await dash.user(owner_email, ws, Role.OWNER)
    member = await dash.user(f"member-{label}@example.com", ws, Role.MEMBER)
    keys: dict[str, Key] = {}
    async with dash.db.transaction() as tx:
        campaign = await create_campaign(tx, workspace_id=ws.id, name=f"Campaign {label}")
        for name in KEY_LABELS:
            scopes = frozenset(Scope) if name == "all" else frozenset({Scope(name)})
            key, raw = await create_api_key(
                tx,
                workspace=ws,
                name=f"key {name}",
                scopes=scopes,
                created_by=owner.id,
                operator=True,
            )
            keys[name] = Key(key.id, raw)
    tag = f"{label}-secret-tag"
    link = await dash.link(
        ws,
        title=f"Link of {label}",
        tags=[tag],
        channel=channel,
        campaign_id=campaign.id,
        utm={"utm_source": f"src-{label}"},
    )
    # "any-tag": the commission rule form (security/routes.py) names a tag the workspace has.
    second = await dash.link(ws, title=f"Second link of {label}", tags=[tag, "any-tag"])
    async with dash.db.transaction() as tx:
        settings = dash.app.settings
        domain = await destination_domains.add_domain(
            tx,
            workspace=ws,
            hostname=f"shop-{label}.example.com",
            policy=policy_from_settings(settings),
        )
        approved = await short_domains.set_workspace_rules(tx, workspace=ws, approved=True)
        short = await short_domains.add_domain(
            tx,
            workspace=approved,
            hostname=f"go-{ws.slug}.example.com",
            settings=settings,
            policy=policy_from_settings(settings),
        )
        await short_domains.approve_domain(tx, ref=short.id, actor=None)
        report = await reports.submit_report(
            tx,
            link=f"http://{HOST}/{link.code}",
            category="phishing",
            message=f"report on {label}",
            contact_email="",
            reporter_hash="r" * 16,
            default_host=HOST,
        )
        ban, _ = await moderation.ban_link(
            tx, link_id=second.id, reason=f"ban of {label}", actor=None
        )
        endpoint, _secret = await webhooks.create_endpoint(
            tx,
            workspace_id=ws.id,
            url=f"https://hooks-{label}.example.com/in",
            events=("link.health",),
            box=SecretBox(settings.resolve_secret_key()),
        )
        await emit(tx, workspace_id=ws.id, event_type="link.health", data={"of": label})
        [message] = await tx.webhooks(ws.id).messages()
        await tx.webhook_queue.finish(
            message.id,
            attempt=Attempt(
                id=f"wha_{label}",
                message_id=message.id,
                attempted_at=message.created_at,
                status_code=500,
                latency_ms=1,
                error=None,
                response_snippet=f"down {label}",
            ),
            status="failed",
            next_attempt_at=None,
        )
        integration = await forwarding.create_destination(
            tx,
            workspace_id=ws.id,
            kind=Kind.META,
            name=f"Meta of {label}",
            account_id="1234567890",
            credential=f"EAAtoken{label}" + "x" * 20,
            events=("click", "purchase"),
            box=SecretBox(settings.resolve_secret_key()),
        )
        fwd_event_id = await factories.dead_forward_event(
            tx,
            workspace_id=ws.id,
            destination_id=integration.id,
            batch_id=f"fwb_{label}dead",
            key=f"ev-{label}",
            error=f"refused {label}",
        )
        _, rule = await link_rules.add_rule(
            tx,
            workspace=ws,
            link_id=link.id,
            rule={
                "conditions": [{"type": "os", "values": ["ios"]}],
                "action": {"type": "url", "url": f"https://shop.example.com/rule-{label}"},
            },
            position=None,
            actor=None,
            policy=None,
            presets=app_presets(),
        )
        _, test = await experiments.start_test(
            tx,
            workspace=ws,
            link_id=link.id,
            variants=[{"weight": 1}, {"url": f"https://shop.example.com/b-{label}"}],
            actor=None,
            policy=None,
        )
        health_event = HealthEvent(
            id=f"hev_{label}{'0' * 20}",
            workspace_id=ws.id,
            link_id=link.id,
            at=utcnow(),
            old_state="healthy",
            new_state="broken",
            reason="http_404",
            detail=None,
            url=f"https://shop.example.com/{label}",
            status_code=404,
            switch=None,
            acknowledged_at=None,
        )
        await tx.health(ws.id).add_event(health_event)
    now = time.time()
    clicks = [_click(link.id, ws.id, now - i * 600, country="DE") for i in range(5)]
    await record_clicks(dash.db, clicks)
    conv = await _conversions(dash, ws, campaign.id, clicks[0].click_id, label)
    async with dash.db.transaction() as tx:
        _, session = await sessions.start_session(tx, user_id=owner.id, user_agent=f"UA {label}")
        invitation, invite_token = await invitations.invite(
            tx,
            workspace=ws,
            email=f"invitee-{label}@example.com",
            role=Role.MEMBER,
            lifetime=timedelta(days=7),
            actor=None,
        )
        reset_token, _ = await recovery.issue_reset(
            tx, user=member, lifetime=timedelta(minutes=30), origin="cli", actor="cli"
        )
        public_token = await public_stats.enable(tx, workspace=ws, link_id=link.id)
    return Tenant(
        ws=ws,
        owner_email=owner_email,
        owner_id=owner.id,
        member_id=member.id,
        link_id=link.id,
        link_code=link.code,
        campaign_id=campaign.id,
        tag=tag,
        channel=channel,
        keys=keys,
        domain_id=domain.id,
        domain_host=domain.hostname,
        short_domain_id=short.id,
        report_id=report.id,
        ban_id=ban.id,
        **conv,
        webhook_id=endpoint.id,
        message_id=message.id,
        integration_id=integration.id,
        fwd_event_id=fwd_event_id,
        health_event=health_event.id,
        rule_id=rule.id,
        variant_id=test.variants[1].id,
        session=session.id,
        invitation=invitation.id,
        reset_token=reset_token,
        invite_token=invite_token,
        public_token=public_token,
    )


async def _conversions(
    dash: Dash, ws: Workspace, campaign_id: str, click_id: str, label: str
) -> dict[str, str]:
    """An order attributed to the tenant's click, a commission rule, an ingest key."""
    async with dash.db.transaction() as tx:
        event, _ = parse_event(
            {
                "type": "purchase",
                "order_id": f"ORDER-{label}-{random_base62(6)}",
                "amount": 9900,
                "currency": "USD",
                "click_id": click_id,
            },
            now=utcnow(),
        )
        result = await record_event(
            tx,
            workspace_id=ws.id,
            event=event,
            settings=await tx.conversions(ws.id).settings(),
            source=Source.API,
            now=utcnow(),
        )
        assert result.order is not None and result.order.link_id is not None
        rule = await put_rule(
            tx,
            workspace_id=ws.id,
            kind="campaign",
            ref=campaign_id,
            percent=10,
            commission_range=(5.0, 12.0),
        )
        ikey, _ = await create_ingest_key(
            tx, workspace_id=ws.id, name=f"store {label}", created_by=None
        )
    return {
        "order": result.order.id,
        "order_ext": result.order.order_id,
        "rule": rule.id,
        "ikey": ikey.id,
    }


async def start_bulk_job(dash: Dash, tenant: Tenant) -> None:
    """A finished bulk upload of the tenant's (its ID lives in the dashboard's memory)."""
    browser = await signed_in(dash, tenant)
    response = await browser.post(
        f"/app/w/{tenant.ws.slug}/bulk", {"text": "https://shop.example.com/bulk-item"}
    )
    assert response.status_code == 303, response.text[-2000:]
    tenant.bulk_job = response.headers["location"].rsplit("/", 1)[1]
    jobs = dash.app.dashboard.jobs
    for _ in range(500):
        job = jobs.get(tenant.bulk_job, tenant.ws.id)
        if job is not None and job.finished is not None:
            return
        await _sleep(0.01)
    raise AssertionError("the bulk upload did not finish")


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def signed_in(dash: Dash, tenant: Tenant) -> Browser:
    if tenant.browser is None:
        tenant.browser = dash.browser()
        await tenant.browser.sign_in(tenant.owner_email)
    return tenant.browser


async def snapshot(db: Database) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table (from the metadata, so new tables are included)."""
    out: dict[str, list[tuple[str, ...]]] = {}
    async with db.transaction(write=False) as tx:
        for table in metadata.sorted_tables:
            rows = await tx.conn.execute(select(table))
            out[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    return out


def diff(before: dict[str, list[tuple[str, ...]]], after: dict[str, list[tuple[str, ...]]]) -> Any:
    """The tables whose rows changed, with what was removed and added (empty: none)."""
    changed = {}
    for name in sorted(set(before) | set(after)):
        old, new = set(before.get(name, [])), set(after.get(name, []))
        if old != new:
            changed[name] = {"removed": sorted(old - new)[:5], "added": sorted(new - old)[:5]}
    return changed
