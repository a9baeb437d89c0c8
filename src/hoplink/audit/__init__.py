"""The audit log: who did what security-relevant thing, when, to which workspace.

``record`` writes inside the caller's transaction, so an action and its entry commit or
roll back together. Details are short strings only (never secrets, never client addresses).
Workspace owners read their own workspace's entries; platform admins read all.
The entry itself is a value of ``hoplink.audit.models`` (storage reads and writes it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hoplink.audit.models import AuditEntry
from hoplink.ids import new_id, utcnow

if TYPE_CHECKING:
    from hoplink.storage.tx import Tx

# The actions hoplink records; the admin page filters on these.
APIKEY_CREATED = "apikey.created"
APIKEY_REVOKED = "apikey.revoked"
LINK_DESTINATION_CHANGED = "link.destination_changed"
LINK_BANNED = "link.banned"
LINK_UNBANNED = "link.unbanned"
MEMBER_ADDED = "member.added"
MEMBER_REMOVED = "member.removed"
MEMBER_ROLE_CHANGED = "member.role_changed"
REPORT_RESOLVED = "report.resolved"
REPORT_DISMISSED = "report.dismissed"
SESSIONS_ENDED = "sessions.ended"
WORKSPACE_VERIFIED = "workspace.verified"
WORKSPACE_SUSPENDED = "workspace.suspended"
WORKSPACE_REINSTATED = "workspace.reinstated"
WORKSPACE_EXPORTED = "workspace.exported"
WORKSPACE_ERASED = "workspace.erased"
DOMAIN_VERIFIED = "domain.verified"
SHORT_DOMAIN_VERIFIED = "short_domain.verified"
SHORT_DOMAIN_SUSPENDED = "short_domain.suspended"
SHORT_DOMAIN_REINSTATED = "short_domain.reinstated"
SHORT_DOMAIN_TRANSFERRED = "short_domain.transferred"
SHORT_DOMAIN_REMOVED = "short_domain.removed"
# Periodic re-checks (hoplink.domains.rechecker): a verified domain's proof is missing
# (the first failure of a streak), then its verification lapsed after the grace policy.
SHORT_DOMAIN_CHECK_FAILED = "short_domain.check_failed"
SHORT_DOMAIN_LAPSED = "short_domain.lapsed"
DOMAIN_CHECK_FAILED = "domain.check_failed"
DOMAIN_LAPSED = "domain.lapsed"
INGEST_KEY_CREATED = "ingest_key.created"
INGEST_KEY_REVOKED = "ingest_key.revoked"
INVITATION_CREATED = "invitation.created"
INVITATION_ACCEPTED = "invitation.accepted"
INVITATION_REVOKED = "invitation.revoked"
PASSWORD_CHANGED = "password.changed"  # noqa: S105 - an action name, not a secret
PASSWORD_RESET_ISSUED = "password.reset_issued"  # noqa: S105 - an action name
PASSWORD_RESET = "password.reset"  # noqa: S105 - an action name
TOTP_ENABLED = "totp.enabled"
TOTP_DISABLED = "totp.disabled"
TOTP_RECOVERY_USED = "totp.recovery_code_used"
TOTP_RECOVERY_RENEWED = "totp.recovery_codes_renewed"
WORKSPACE_TOTP_RULE = "workspace.totp_rule"
# Where a workspace's data goes out: webhook endpoints (every link, click and order event
# to a URL of its choosing), ad platform integrations, a link's public stats page.
WEBHOOK_CREATED = "webhook.created"
WEBHOOK_CHANGED = "webhook.changed"
WEBHOOK_DELETED = "webhook.deleted"
WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated"  # noqa: S105 - an action name
INTEGRATION_CREATED = "integration.created"
INTEGRATION_CHANGED = "integration.changed"
INTEGRATION_DELETED = "integration.deleted"
PUBLIC_STATS_ENABLED = "public_stats.enabled"
PUBLIC_STATS_REVOKED = "public_stats.revoked"

ACTIONS: tuple[str, ...] = (
    APIKEY_CREATED,
    APIKEY_REVOKED,
    DOMAIN_CHECK_FAILED,
    DOMAIN_LAPSED,
    DOMAIN_VERIFIED,
    INGEST_KEY_CREATED,
    INGEST_KEY_REVOKED,
    INTEGRATION_CHANGED,
    INTEGRATION_CREATED,
    INTEGRATION_DELETED,
    INVITATION_ACCEPTED,
    INVITATION_CREATED,
    INVITATION_REVOKED,
    LINK_BANNED,
    LINK_DESTINATION_CHANGED,
    LINK_UNBANNED,
    MEMBER_ADDED,
    MEMBER_REMOVED,
    MEMBER_ROLE_CHANGED,
    PASSWORD_CHANGED,
    PASSWORD_RESET,
    PASSWORD_RESET_ISSUED,
    PUBLIC_STATS_ENABLED,
    PUBLIC_STATS_REVOKED,
    REPORT_DISMISSED,
    REPORT_RESOLVED,
    SESSIONS_ENDED,
    TOTP_DISABLED,
    TOTP_ENABLED,
    TOTP_RECOVERY_RENEWED,
    TOTP_RECOVERY_USED,
    SHORT_DOMAIN_CHECK_FAILED,
    SHORT_DOMAIN_LAPSED,
    SHORT_DOMAIN_REINSTATED,
    SHORT_DOMAIN_REMOVED,
    SHORT_DOMAIN_SUSPENDED,
    SHORT_DOMAIN_TRANSFERRED,
    SHORT_DOMAIN_VERIFIED,
    WORKSPACE_ERASED,
    WORKSPACE_EXPORTED,
    WORKSPACE_REINSTATED,
    WORKSPACE_SUSPENDED,
    WORKSPACE_TOTP_RULE,
    WORKSPACE_VERIFIED,
    WEBHOOK_CHANGED,
    WEBHOOK_CREATED,
    WEBHOOK_DELETED,
    WEBHOOK_SECRET_ROTATED,
)

# A detail value longer than this is cut (an edited destination can be a very long URL).
MAX_DETAIL = 2000


async def record(
    tx: Tx,
    *,
    action: str,
    actor: str | None,
    workspace_id: str | None,
    target: str | None,
    detail: dict[str, str],
) -> None:
    """Append one entry in the caller's transaction.

    ``actor`` is ``user:<id>``, ``key:<id>``, ``cli`` or None (the system); ``target`` the
    id of what was acted on (a link, key, user, report or domain).
    """
    entry = AuditEntry(
        id=new_id("aud"),
        at=utcnow(),
        action=action,
        actor=actor[:64] if actor else None,
        workspace_id=workspace_id,
        target=target[:200] if target else None,
        detail={str(k)[:64]: str(v)[:MAX_DETAIL] for k, v in detail.items()},
    )
    await tx.audit.insert(entry)
