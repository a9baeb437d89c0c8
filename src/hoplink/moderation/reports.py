"""Visitors' reports of short links, and what platform admins do with them.

A report names a short link (its URL, or just the code on the default domain), a
category and a message; a contact address is optional. Only reports about a link that
exists are kept, so the queue holds nothing an admin cannot act on. The reporter is
kept only as a keyed hash (same visitor, same day → same hash), never an address.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from hoplink import audit
from hoplink.accounts.users import normalize_email
from hoplink.errors import Conflict, FieldError, InvalidInput, NotFound
from hoplink.ids import new_id, utcnow
from hoplink.links.models import LinkBan
from hoplink.moderation.models import REPORT_CATEGORIES, LinkRef, Report, ReportStatus
from hoplink.moderation.service import ban_link, clean_reason
from hoplink.storage.tx import Tx

MAX_MESSAGE = 2000
MAX_LINK = 400
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_HOST = re.compile(r"[a-z0-9.-]{1,253}(?::[0-9]{1,5})?")


def parse_short_link(text: str, *, default_host: str) -> tuple[str, str]:
    """(host, code) from what a visitor pastes: a short URL with or without scheme, or a code."""
    value = text.strip()
    if not value:
        raise InvalidInput(FieldError("link", "required", "paste the short link you report"))
    if len(value) > MAX_LINK or any(unicodedata.category(c)[0] == "C" for c in value):
        raise InvalidInput(FieldError("link", "invalid", "this is not a short link"))
    if "/" not in value:
        host, code = default_host, value
    else:
        parts = urlsplit(value if "://" in value else f"https://{value}")
        host = parts.netloc.lower().rsplit("@", 1)[-1]
        code = parts.path.strip("/")
        if parts.scheme not in ("http", "https"):
            raise InvalidInput(FieldError("link", "invalid", "this is not a short link"))
    if not _HOST.fullmatch(host) or not _CODE.fullmatch(code):
        raise InvalidInput(
            FieldError(
                "link", "invalid", "this is not a short link, e.g. https://hop.example/Ab3dE7x"
            )
        )
    return host, code


def _message(text: str) -> str:
    value = unicodedata.normalize("NFC", text.strip())
    allowed = {"\n", "\r", "\t"}
    if any(unicodedata.category(c) in ("Cc", "Cf") and c not in allowed for c in value):
        raise InvalidInput(
            FieldError("message", "control_character", "must not contain control characters")
        )
    if len(value) > MAX_MESSAGE:
        raise InvalidInput(
            FieldError("message", "too_long", f"must be at most {MAX_MESSAGE} characters")
        )
    return value


async def submit_report(
    tx: Tx,
    *,
    link: str,
    category: str,
    message: str,
    contact_email: str,
    reporter_hash: str,
    default_host: str,
) -> Report:
    errors: list[FieldError] = []
    target: LinkRef | None = None
    try:
        host, code = parse_short_link(link, default_host=default_host)
        target = await tx.moderation.link_by_short(host, code)
        if target is None:
            errors.append(
                FieldError("link", "unknown_link", "there is no short link at this address")
            )
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if category not in REPORT_CATEGORIES:
        errors.append(FieldError("category", "invalid", "choose a reason from the list"))
    text = ""
    try:
        text = _message(message)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    email: str | None = None
    if contact_email.strip():
        try:
            email = normalize_email(contact_email)
        except InvalidInput:
            errors.append(FieldError("contact_email", "invalid", "is not a valid e-mail address"))
    if errors or target is None:
        raise InvalidInput(errors)
    report = Report(
        id=new_id("rep"),
        workspace_id=target.workspace_id,
        link_id=target.id,
        short_url=f"{target.domain}/{target.code}",
        category=category,
        message=text,
        contact_email=email,
        reporter_hash=reporter_hash,
        status=ReportStatus.OPEN,
        created_at=utcnow(),
    )
    await tx.moderation.insert_report(report)
    return report


async def close_report(
    tx: Tx,
    *,
    report_id: str,
    status: ReportStatus,
    note: str,
    actor: str | None,
    ban: bool = False,
) -> tuple[Report, tuple[LinkBan, LinkRef] | None]:
    """Resolve or dismiss a report; resolving it may ban the reported link (note = reason)."""
    report = await tx.moderation.report(report_id)
    if report is None:
        raise NotFound("no report with this id")
    if status is ReportStatus.OPEN:
        raise InvalidInput(FieldError("status", "invalid", "resolve or dismiss the report"))
    text = clean_reason(note, field="note", required=ban)
    banned: tuple[LinkBan, LinkRef] | None = None
    if ban:
        if status is not ReportStatus.RESOLVED:
            raise Conflict("only a resolved report can ban its link", code="ban_needs_resolve")
        banned = await ban_link(
            tx, link_id=report.link_id, reason=text, actor=actor, report_id=report.id
        )
    await tx.moderation.set_report_status(
        report.id, status=status, by=actor, at=utcnow(), resolution=text or None
    )
    await audit.record(
        tx,
        action=audit.REPORT_RESOLVED if status is ReportStatus.RESOLVED else audit.REPORT_DISMISSED,
        actor=actor,
        workspace_id=report.workspace_id,
        target=report.link_id,
        detail={"report_id": report.id, "category": report.category, "note": text},
    )
    updated = await tx.moderation.report(report.id)
    assert updated is not None
    return updated, banned
