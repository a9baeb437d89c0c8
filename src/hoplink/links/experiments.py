"""Starting and stopping a link's A/B test. The caller owns the transaction; the changes
record ``LinkChanged`` (links/rules.py ``save_routing``), so every node follows after commit.

Stopping picks a winner: the link's destination becomes the winner's URL (an ordinary,
policy-checked, history-kept edit), and the test's record stays in the link's history
(field ``ab_test``: the test as it ran, then the test with its end and winner).
"""

from __future__ import annotations

from typing import Any

import orjson

from hoplink.errors import Conflict, InvalidInput, NotFound
from hoplink.ids import utcnow
from hoplink.links import service
from hoplink.links.abtest import AbTest, validate_variants
from hoplink.links.models import Link
from hoplink.links.rules import save_routing, with_part
from hoplink.links.spec import LinkEdit
from hoplink.links.validation import destination_check
from hoplink.safety.policy import DestinationPolicy
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Workspace


def test_of(link: Link) -> AbTest | None:
    data = orjson.loads(link.routing) if link.routing else {}
    return AbTest.from_json(data["ab"]) if data.get("ab") else None


async def _load(tx: Tx, workspace: Workspace, link_id: str) -> Link:
    link = await tx.links(workspace.id).get(link_id)
    if link is None:
        raise NotFound("no link with this id")
    service.check_not_banned(link)
    return link


async def start_test(
    tx: Tx,
    *,
    workspace: Workspace,
    link_id: str,
    variants: Any,
    actor: str | None,
    policy: DestinationPolicy | None,
) -> tuple[Link, AbTest]:
    link = await _load(tx, workspace, link_id)
    if test_of(link) is not None:
        raise Conflict("an A/B test is running on this link; stop it first")
    check = await destination_check(tx, workspace=workspace, policy=policy)
    test = validate_variants(variants, check=check.check, started_at=utcnow())
    refused = await check.resolution_errors(
        [(f"variants.{i}.url", v.url) for i, v in enumerate(test.variants) if v.url]
    )
    if refused:
        raise InvalidInput(list(refused.values()))
    new = orjson.dumps(test.to_json()).decode()
    routing = with_part(link.routing, "ab", test.to_json())
    link = await save_routing(
        tx, link, routing, workspace=workspace, actor=actor, field="ab_test", old=None, new=new
    )
    return link, test


async def stop_test(
    tx: Tx,
    *,
    workspace: Workspace,
    link_id: str,
    winner: str,
    actor: str | None,
    policy: DestinationPolicy | None,
) -> tuple[Link, AbTest]:
    """End the running test; the link then redirects to ``winner`` (a variant id)."""
    link = await _load(tx, workspace, link_id)
    test = test_of(link)
    if test is None:
        raise NotFound("no A/B test is running on this link")
    chosen = next((v for v in test.variants if v.id == winner), None)
    if chosen is None:
        raise InvalidInput.one("winner", "unknown_variant", "not a variant of the running test")
    ended = {**test.to_json(), "stopped_at": utcnow().isoformat(), "winner": chosen.id}
    link = await save_routing(
        tx, link, with_part(link.routing, "ab", None), workspace=workspace, actor=actor,
        field="ab_test", old=orjson.dumps(test.to_json()).decode(),
        new=orjson.dumps(ended).decode(),
    )  # fmt: skip
    if chosen.url is not None:
        # The winner's URL becomes the link's destination (the link's UTM tags applied).
        link = await service.update_link(
            tx,
            workspace=workspace,
            link_id=link.id,
            edit=LinkEdit(url=chosen.url),
            actor=actor,
            policy=policy,
        )
    return link, test
