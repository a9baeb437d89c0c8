"""Every service that changes how a short link answers records its event, and the redirect
cache drops the entry once the change commits (real SQLite and PostgreSQL, real cache).

``test_every_service_is_classified`` fails when a service function is added to the modules
below without being listed either as changing redirects (and then exercised here) or as
not changing them: a new write path cannot forget its event unnoticed.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from types import ModuleType

import pytest

from factories import domain, workspace
from hoplink import domains, privacy
from hoplink.config import Settings
from hoplink.domains import service as domain_service
from hoplink.domains.models import ShortDomainMethod
from hoplink.domains.verification import Outcome
from hoplink.events import Event, LinkChanged, ShortDomainChanged, WorkspaceChanged
from hoplink.links import experiments, validation
from hoplink.links import rules as link_rules
from hoplink.links import service as links
from hoplink.links.models import Link, ShortDomain
from hoplink.links.routing import app_presets
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkEdit, LinkRules
from hoplink.moderation import reports
from hoplink.moderation import service as moderation
from hoplink.moderation.models import ReportStatus
from hoplink.redirect.cache import MISSING, RedirectCache
from hoplink.redirect.invalidation import InvalidateOnCommit
from hoplink.safety.policy import DestinationPolicy
from hoplink.storage.database import Database
from hoplink.storage.redirects import Site, Target
from hoplink.storage.tx import Tx
from hoplink.workspaces import service as workspaces
from hoplink.workspaces.models import Workspace, WorkspaceStatus

SITE = Site("dom_test", None)

MODULES: tuple[ModuleType, ...] = (
    links, validation, link_rules, experiments, moderation, reports, workspaces, privacy,
    domain_service,
)  # fmt: skip
# Service functions that change what a short link answers: each is exercised below.
CHANGING = {
    "links.service.create_links",
    "links.service.create_link",
    "links.service.update_link",
    "links.service.delete_link",
    "moderation.service.verify_workspace",
    "moderation.service.suspend_workspace",
    "moderation.service.reinstate_workspace",
    "moderation.service.ban_link",
    "moderation.service.unban_link",
    "moderation.reports.close_report",
    "workspaces.service.set_status",
    "privacy.erase_workspace",
    "domains.service.ensure_default_domain",
    "domains.service.add_domain",
    "domains.service.record_check",
    "domains.service.approve_domain",
    "domains.service.remove_domain",
    "domains.service.update_settings",
    "domains.service.suspend_domain",
    "domains.service.reinstate_domain",
    "domains.service.transfer_domain",
    "links.rules.add_rule",
    "links.rules.replace_rule",
    "links.rules.set_rules",
    "links.rules.delete_rule",
    "links.rules.save_routing",
    "links.experiments.start_test",
    "links.experiments.stop_test",
}
# Reads, and writes no redirect depends on (settings, reports, exports).
NOT_CHANGING = {
    "links.service.get_link",
    "links.service.preview_link",
    "moderation.reports.submit_report",
    "workspaces.service.create_workspace",
    "workspaces.service.update_workspace",
    "workspaces.service.find_workspace",
    "privacy.record_export",
    "privacy.export_chunks",
    "domains.service.domain_for",
    "domains.service.find_domain",
    "domains.service.any_domain",
    "domains.service.set_workspace_rules",
    "links.rules.list_rules",
    "links.validation.destination_check",
}
PRODUCT = "https://shop.example.com/item/1"


def _name(module: ModuleType, function: str) -> str:
    return f"{module.__name__.removeprefix('hoplink.')}.{function}"


def test_every_service_is_classified() -> None:
    found = {
        _name(module, name)
        for module in MODULES
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.iscoroutinefunction(value) or inspect.isasyncgenfunction(value))
        and value.__module__ == module.__name__
    }
    assert found - CHANGING - NOT_CHANGING == set(), "new service: does it record an event?"
    assert (CHANGING | NOT_CHANGING) - found == set(), "gone: update the lists"


class Watched:
    """A database with the redirect cache listening after commit, as runtime.py sets it up."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.cache = RedirectCache(ttl=60, negative_ttl=60, max_entries=100)
        self.heard: list[Event] = []
        db.listeners.after_commit(InvalidateOnCommit(self.cache, None))
        db.listeners.after_commit(self.heard.extend)

    def cache_link(self, link: Link, ws: Workspace) -> None:
        target = Target(link.id, ws.id, link.final_url, False, False, ws.status.value)
        self.cache.put(link.domain, link.code, target, generation=self.cache.generation)
        assert self.cache.get(link.domain, link.code) == target

    def cached(self, link: Link) -> bool:
        return self.cache.get(link.domain, link.code) is not MISSING

    async def change(self, run: Callable[[Tx], Awaitable[object]]) -> list[Event]:
        self.heard.clear()
        async with self.db.transaction() as tx:
            await run(tx)
        return list(self.heard)


@pytest.fixture
async def watched(db: Database) -> Watched:
    return Watched(db)


async def _start(watched: Watched) -> tuple[ShortDomain, Workspace, Link]:
    async with watched.db.transaction() as tx:
        dom, ws = await domain(tx), await workspace(tx)
    async with watched.db.transaction() as tx:
        link = await links.create_link(
            tx, workspace=ws, domain=dom, spec=LinkSpec(url=PRODUCT), actor="t", rules=LinkRules()
        )
    return dom, ws, link


async def test_link_services_record_their_changes_and_drop_the_cache(watched: Watched) -> None:
    dom, ws, link = await _start(watched)

    def changed(change: str, which: Link = link) -> list[Event]:
        return [LinkChanged(ws.id, which.id, "hop.test", which.code, change)]  # type: ignore[arg-type]

    # Creation drops a cached "not found" for the code.
    watched.cache.put("hop.test", "custom-1", None, generation=watched.cache.generation)
    made: list[Link] = []

    async def create_one(tx: Tx) -> None:
        spec = LinkSpec(url=PRODUCT, code="custom-1")
        made.append(
            await links.create_link(
                tx, workspace=ws, domain=dom, spec=spec, actor="t", rules=LinkRules()
            )
        )

    heard = await watched.change(create_one)
    assert heard == changed("created", which=made[0])
    assert watched.cache.get("hop.test", "custom-1") is MISSING

    async def create_many(tx: Tx) -> None:
        results = await links.create_links(
            tx,
            workspace=ws,
            domain=dom,
            specs=[LinkSpec(url=PRODUCT), LinkSpec(url="ftp://refused"), LinkSpec(url=PRODUCT)],
            actor="t",
            rules=LinkRules(),
        )
        made[:] = [r for r in results if isinstance(r, Link)]

    heard = await watched.change(create_many)
    assert len(made) == 2  # the refused item records nothing
    assert heard == [LinkChanged(ws.id, m.id, "hop.test", m.code, "created") for m in made]

    for change in (LinkEdit(url="https://shop.example.com/new"), LinkEdit(archived=True)):
        watched.cache_link(link, ws)
        assert await watched.change(
            lambda tx, c=change: links.update_link(  # type: ignore[misc]
                tx, workspace=ws, link_id=link.id, edit=c, actor="t"
            )
        ) == changed("updated")
        assert not watched.cached(link)

    watched.cache_link(link, ws)
    nothing = await watched.change(
        lambda tx: links.update_link(
            tx, workspace=ws, link_id=link.id, edit=LinkEdit(archived=True), actor="t"
        )
    )
    assert nothing == [] and watched.cached(link)  # no change, no event

    watched.cache_link(link, ws)
    assert await watched.change(
        lambda tx: links.delete_link(tx, workspace=ws, link_id=link.id)
    ) == changed("deleted")
    assert not watched.cached(link)


async def test_moderation_records_its_changes_and_drops_the_cache(watched: Watched) -> None:
    _, ws, link = await _start(watched)
    bans: list[str] = []

    async def ban(tx: Tx) -> None:
        found, _ = await moderation.ban_link(tx, link_id=link.id, reason="fake", actor="admin")
        bans.append(found.id)

    watched.cache_link(link, ws)
    banned = [LinkChanged(ws.id, link.id, "hop.test", link.code, "banned")]
    assert await watched.change(ban) == banned
    assert not watched.cached(link)

    watched.cache_link(link, ws)
    assert await watched.change(
        lambda tx: moderation.unban_link(tx, ban_id=bans[0], reason="appeal", actor="admin")
    ) == [LinkChanged(ws.id, link.id, "hop.test", link.code, "unbanned")]
    assert not watched.cached(link)

    async def report_and_ban(tx: Tx) -> None:
        report = await reports.submit_report(
            tx,
            link=f"https://hop.test/{link.code}",
            category="phishing",
            message="fake shop",
            contact_email="",
            reporter_hash="h",
            default_host="hop.test",
        )
        await reports.close_report(
            tx,
            report_id=report.id,
            status=ReportStatus.RESOLVED,
            note="confirmed",
            actor="admin",
            ban=True,
        )

    watched.cache_link(link, ws)
    assert await watched.change(report_and_ban) == [
        LinkChanged(ws.id, link.id, "hop.test", link.code, "banned")
    ]
    assert not watched.cached(link)

    status_changes: list[Callable[[Tx], Awaitable[object]]] = [
        lambda tx: moderation.suspend_workspace(tx, ref=ws.id, reason="r", actor="a"),
        lambda tx: moderation.reinstate_workspace(tx, ref=ws.id, reason="r", actor="a"),
        lambda tx: moderation.verify_workspace(tx, ref=ws.id, reason="r", actor="a"),
        lambda tx: workspaces.set_status(tx, ref=ws.id, status=WorkspaceStatus.SUSPENDED),
    ]
    for run in status_changes:
        watched.cache_link(link, ws)
        assert await watched.change(run) == [WorkspaceChanged(ws.id, "status")]
        assert not watched.cached(link)


async def test_erasure_and_domain_changes_drop_everything(watched: Watched) -> None:
    _, ws, link = await _start(watched)
    watched.cache.put_hosts({"hop.test": SITE}, generation=watched.cache.generation)
    watched.cache_link(link, ws)
    assert await watched.change(lambda tx: privacy.erase_workspace(tx, ref=ws.id, actor="t")) == [
        WorkspaceChanged(ws.id, "erased"),
        ShortDomainChanged(None),
    ]
    assert not watched.cached(link) and watched.cache.hosts() is None

    watched.cache.put_hosts({"hop.test": SITE}, generation=watched.cache.generation)
    assert await watched.change(lambda tx: domains.ensure_default_domain(tx, "hop.test")) == []
    assert watched.cache.hosts() is not None  # already the default: nothing changed
    assert await watched.change(lambda tx: domains.ensure_default_domain(tx, "go.example")) == [
        ShortDomainChanged("go.example")
    ]
    assert watched.cache.hosts() is None


async def test_custom_domain_services_record_their_changes_and_drop_the_hosts(
    watched: Watched, tmp_path: object
) -> None:
    _, ws, _ = await _start(watched)
    async with watched.db.transaction() as tx:
        other = await workspace(tx, name="Other Shop")
    settings = Settings(data_dir=tmp_path, custom_domains="automatic")  # type: ignore[arg-type]
    policy = DestinationPolicy()
    made: list[ShortDomain] = []

    async def add(tx: Tx) -> None:
        made.append(
            await domain_service.add_domain(
                tx, workspace=ws, hostname="go.brand.example", settings=settings, policy=policy
            )
        )

    async def proven(tx: Tx) -> None:
        outcome = Outcome(ShortDomainMethod.DNS_TXT, None)
        await domain_service.record_check(tx, domain=made[0], outcome=outcome, actor="t")

    home = "https://shop.example.com/"
    steps: list[Callable[[Tx], Awaitable[object]]] = [
        add,
        proven,
        lambda tx: domain_service.update_settings(
            tx, workspace=ws, ref="go.brand.example", policy=policy, root_url=home
        ),
        lambda tx: domain_service.suspend_domain(tx, ref="go.brand.example", actor="a", reason="r"),
        lambda tx: domain_service.reinstate_domain(tx, ref="go.brand.example", actor="a"),
        lambda tx: domain_service.remove_domain(
            tx, workspace=ws, ref="go.brand.example", actor="t"
        ),
        lambda tx: domain_service.transfer_domain(tx, ref="go.brand.example", to=other, actor="a"),
        lambda tx: domain_service.approve_domain(tx, ref="go.brand.example", actor="a"),
    ]
    for run in steps:
        watched.cache.put_hosts({"hop.test": SITE}, generation=watched.cache.generation)
        assert await watched.change(run) == [ShortDomainChanged("go.brand.example")]
        assert watched.cache.hosts() is None


async def test_rules_and_ab_tests_record_their_changes_and_drop_the_cache(
    watched: Watched,
) -> None:
    _, ws, link = await _start(watched)
    changed = [LinkChanged(ws.id, link.id, "hop.test", link.code, "updated")]
    rule = {
        "conditions": [{"type": "os", "values": ["ios"]}],
        "action": {"type": "url", "url": "https://shop.example.com/ios"},
    }
    added: list[str] = []

    async def add(tx: Tx) -> None:
        _, new = await link_rules.add_rule(
            tx, workspace=ws, link_id=link.id, rule=rule, position=None, actor="t",
            policy=None, presets=app_presets(),
        )  # fmt: skip
        added.append(new.id)

    steps: list[Callable[[Tx], Awaitable[object]]] = [
        add,
        lambda tx: link_rules.replace_rule(
            tx,
            workspace=ws,
            link_id=link.id,
            rule_id=added[0],
            rule={**rule, "name": "x"},
            actor="t",
            policy=None,
            presets=app_presets(),
        ),
        lambda tx: link_rules.set_rules(
            tx,
            workspace=ws,
            link_id=link.id,
            rules=[{**rule, "id": added[0]}, rule],
            actor="t",
            policy=None,
            presets=app_presets(),
        ),
        lambda tx: link_rules.delete_rule(
            tx, workspace=ws, link_id=link.id, rule_id=added[0], actor="t"
        ),
        lambda tx: experiments.start_test(
            tx,
            workspace=ws,
            link_id=link.id,
            actor="t",
            policy=None,
            variants=[{"weight": 1}, {"url": "https://shop.example.com/b", "weight": 1}],
        ),
    ]
    for step in steps:
        watched.cache_link(link, ws)
        assert await watched.change(step) == changed
        assert not watched.cached(link)
    async with watched.db.transaction(write=False) as tx:
        current = await tx.links(ws.id).get(link.id)
        assert current is not None
        test = experiments.test_of(current)
        assert test is not None
    watched.cache_link(link, ws)
    heard = await watched.change(
        lambda tx: experiments.stop_test(
            tx, workspace=ws, link_id=link.id, winner=test.variants[1].id, actor="t", policy=None
        )
    )
    assert heard == changed * 2  # the test's end, then the destination's change
    assert not watched.cached(link)
