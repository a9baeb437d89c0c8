"""What platform admins do: verify, suspend and reinstate workspaces; ban and unban links.

Every action takes a reason and writes an audit entry in the caller's transaction, and
records a change event (hoplink.events) that drops the redirect cache after commit.
"""

from __future__ import annotations

import unicodedata

from hoplink import audit
from hoplink.errors import Conflict, FieldError, InvalidInput, NotFound
from hoplink.events import LinkChanged, WorkspaceChanged
from hoplink.ids import new_id, utcnow
from hoplink.links.models import LinkBan
from hoplink.moderation.models import LinkRef
from hoplink.storage.tx import Tx, UniqueViolation
from hoplink.workspaces.edit import WorkspaceUpdate
from hoplink.workspaces.models import Workspace, WorkspaceStatus
from hoplink.workspaces.service import find_workspace

MAX_REASON = 1000


def clean_reason(reason: str, *, field: str = "reason", required: bool = True) -> str:
    """A reason as it will be stored and shown: printable, at most MAX_REASON characters."""
    text = unicodedata.normalize("NFC", reason.strip())
    allowed = {"\n", "\r", "\t"}
    if any(unicodedata.category(c) in ("Cc", "Cf") and c not in allowed for c in text):
        raise InvalidInput(
            FieldError(field, "control_character", "must not contain control characters")
        )
    if required and not text:
        raise InvalidInput(FieldError(field, "required", "give a reason (it is kept in the log)"))
    if len(text) > MAX_REASON:
        raise InvalidInput(
            FieldError(field, "too_long", f"must be at most {MAX_REASON} characters")
        )
    return text


async def verify_workspace(tx: Tx, *, ref: str, reason: str, actor: str | None) -> Workspace:
    """The seller was checked: the workspace may create links (also lifts a suspension)."""
    ws = await find_workspace(tx, ref)
    text = clean_reason(reason, required=False)
    await tx.workspaces.update(
        ws.id,
        WorkspaceUpdate(
            status=WorkspaceStatus.VERIFIED,
            status_reason=text or None,
            status_before_suspension=None,
        ),
    )
    await audit.record(
        tx,
        action=audit.WORKSPACE_VERIFIED,
        actor=actor,
        workspace_id=ws.id,
        target=ws.id,
        detail={"reason": text, "previous_status": ws.status.value},
    )
    tx.record(WorkspaceChanged(ws.id, "status"))
    return await _reloaded(tx, ws.id)


async def suspend_workspace(tx: Tx, *, ref: str, reason: str, actor: str | None) -> Workspace:
    """Stop the workspace: links answer 410, API keys are refused, the dashboard is read-only."""
    ws = await find_workspace(tx, ref)
    text = clean_reason(reason)
    before = ws.status_before_suspension if ws.status is WorkspaceStatus.SUSPENDED else ws.status
    await tx.workspaces.update(
        ws.id,
        WorkspaceUpdate(
            status=WorkspaceStatus.SUSPENDED,
            status_reason=text,
            status_before_suspension=before or WorkspaceStatus.UNVERIFIED,
        ),
    )
    await audit.record(
        tx,
        action=audit.WORKSPACE_SUSPENDED,
        actor=actor,
        workspace_id=ws.id,
        target=ws.id,
        detail={"reason": text, "previous_status": ws.status.value},
    )
    tx.record(WorkspaceChanged(ws.id, "status"))
    return await _reloaded(tx, ws.id)


async def reinstate_workspace(tx: Tx, *, ref: str, reason: str, actor: str | None) -> Workspace:
    """Lift a suspension: the workspace gets back the status the suspension replaced."""
    ws = await find_workspace(tx, ref)
    if ws.status is not WorkspaceStatus.SUSPENDED:
        raise Conflict(f"workspace {ws.slug} is not suspended", code="not_suspended")
    text = clean_reason(reason)
    restored = ws.status_before_suspension or WorkspaceStatus.UNVERIFIED
    await tx.workspaces.update(
        ws.id,
        WorkspaceUpdate(status=restored, status_reason=text, status_before_suspension=None),
    )
    await audit.record(
        tx,
        action=audit.WORKSPACE_REINSTATED,
        actor=actor,
        workspace_id=ws.id,
        target=ws.id,
        detail={"reason": text, "status": restored.value},
    )
    tx.record(WorkspaceChanged(ws.id, "status"))
    return await _reloaded(tx, ws.id)


async def _reloaded(tx: Tx, workspace_id: str) -> Workspace:
    ws = await tx.workspaces.get(workspace_id)
    if ws is None:  # pragma: no cover - updated in this transaction
        raise NotFound("no such workspace")
    return ws


async def ban_link(
    tx: Tx, *, link_id: str, reason: str, actor: str | None, report_id: str | None = None
) -> tuple[LinkBan, LinkRef]:
    """Ban one link of any workspace; its redirect answers 410 until the ban is lifted."""
    link = await tx.moderation.link(link_id)
    if link is None:
        raise NotFound("no link with this id")
    text = clean_reason(reason)
    if await tx.moderation.active_ban(link.id) is not None:
        raise Conflict("this link is banned already", code="already_banned")
    ban = LinkBan(
        id=new_id("ban"),
        workspace_id=link.workspace_id,
        link_id=link.id,
        reason=text,
        report_id=report_id,
        banned_by=actor,
        banned_at=utcnow(),
    )
    try:
        async with tx.savepoint():
            await tx.moderation.insert_ban(ban)
    except UniqueViolation:  # another admin banned it a moment ago
        raise Conflict("this link is banned already", code="already_banned") from None
    await audit.record(
        tx,
        action=audit.LINK_BANNED,
        actor=actor,
        workspace_id=link.workspace_id,
        target=link.id,
        detail={
            "reason": text,
            "short_url": f"{link.domain}/{link.code}",
            "destination": link.destination_url,
            **({"report_id": report_id} if report_id else {}),
        },
    )
    tx.record(LinkChanged(link.workspace_id, link.id, link.domain, link.code, "banned"))
    return ban, link


async def unban_link(
    tx: Tx, *, ban_id: str, reason: str, actor: str | None
) -> tuple[LinkBan, LinkRef]:
    """Lift a ban (kept in the history); the link redirects again."""
    ban = await tx.moderation.ban(ban_id)
    if ban is None or ban.lifted_at is not None:
        raise NotFound("no active ban with this id")
    text = clean_reason(reason)
    link = await tx.moderation.link(ban.link_id)
    await tx.moderation.lift_ban(ban.id, by=actor, at=utcnow(), reason=text)
    await audit.record(
        tx,
        action=audit.LINK_UNBANNED,
        actor=actor,
        workspace_id=ban.workspace_id,
        target=ban.link_id,
        detail={"reason": text, "ban_id": ban.id},
    )
    if link is None:  # pragma: no cover - bans cascade with their link
        raise NotFound("no link with this id")
    tx.record(LinkChanged(link.workspace_id, link.id, link.domain, link.code, "unbanned"))
    return ban, link
