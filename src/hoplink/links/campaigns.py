"""Campaigns: named groups of links, optionally carrying the ad platform's campaign ID."""

from __future__ import annotations

import unicodedata

from hoplink.errors import Conflict, FieldError, InvalidInput, NotFound
from hoplink.ids import new_id, utcnow
from hoplink.links.models import Campaign
from hoplink.storage.tx import Tx, UniqueViolation


def _clean(name: str | None, external_id: str | None) -> dict[str, str | None]:
    errors: list[FieldError] = []
    values: dict[str, str | None] = {}
    if name is not None:
        name = unicodedata.normalize("NFC", name.strip())
        if not 1 <= len(name) <= 200 or any(unicodedata.category(c)[0] == "C" for c in name):
            errors.append(FieldError("name", "invalid", "must be 1 to 200 printable characters"))
        values["name"] = name
    if external_id is not None:
        external_id = external_id.strip()
        if len(external_id) > 100 or any(unicodedata.category(c)[0] == "C" for c in external_id):
            errors.append(
                FieldError("external_id", "invalid", "must be at most 100 printable characters")
            )
        values["external_id"] = external_id or None
    if errors:
        raise InvalidInput(errors)
    return values


async def create_campaign(
    tx: Tx, *, workspace_id: str, name: str, external_id: str | None = None
) -> Campaign:
    values = _clean(name, external_id or "")
    campaign = Campaign(
        id=new_id("cmp"),
        workspace_id=workspace_id,
        name=str(values["name"]),
        external_id=values["external_id"],
        created_at=utcnow(),
    )
    try:
        async with tx.savepoint():
            await tx.campaigns(workspace_id).insert(campaign)
    except UniqueViolation:
        raise Conflict(
            f"a campaign named {campaign.name!r} already exists", code="campaign_exists"
        ) from None
    return campaign


async def get_campaign(tx: Tx, *, workspace_id: str, campaign_id: str) -> Campaign:
    campaign = await tx.campaigns(workspace_id).get(campaign_id)
    if campaign is None:
        raise NotFound("no campaign with this id")
    return campaign


async def update_campaign(
    tx: Tx,
    *,
    workspace_id: str,
    campaign_id: str,
    name: str | None = None,
    external_id: str | None = None,
) -> Campaign:
    """Rename or re-tag a campaign. Links keep the campaign ID bound when they were made."""
    values = _clean(name, external_id)
    repo = tx.campaigns(workspace_id)
    try:
        async with tx.savepoint():
            found = await repo.update(campaign_id, **values) if values else True
    except UniqueViolation:
        raise Conflict("a campaign with this name already exists", code="campaign_exists") from None
    if not found:
        raise NotFound("no campaign with this id")
    return await get_campaign(tx, workspace_id=workspace_id, campaign_id=campaign_id)


async def delete_campaign(tx: Tx, *, workspace_id: str, campaign_id: str) -> None:
    if not await tx.campaigns(workspace_id).delete(campaign_id):
        raise NotFound("no campaign with this id")
