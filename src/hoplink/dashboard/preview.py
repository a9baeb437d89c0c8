"""The live preview: the exact final URL a form would create, or what is wrong with it.

It runs the links service's own validation and URL building (``_prepare``), so the
preview is the result, not an imitation of it. ``prepare`` should become a public
function of ``hoplink.links.service``; until then this is its one caller outside it.
"""

from __future__ import annotations

from hoplink.errors import FieldError, InvalidInput
from hoplink.links.models import Domain
from hoplink.links.service import LinkSpec, _prepare
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Workspace


async def preview_link(
    tx: Tx, *, workspace: Workspace, domain: Domain, spec: LinkSpec
) -> str | InvalidInput:
    wanted = {spec.campaign_id} if spec.campaign_id else set()
    campaigns = await tx.campaigns(workspace.id).many(wanted)
    draft = _prepare(spec, workspace, campaigns)
    if isinstance(draft, InvalidInput):
        return draft
    if spec.code and await tx.links(workspace.id).codes_taken(domain.id, [spec.code]):
        return InvalidInput(
            FieldError("code", "code_taken", f"'{spec.code}' is already taken on this domain")
        )
    return str(draft.values["final_url"])
