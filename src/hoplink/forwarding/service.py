"""Managing a workspace's ad platform destinations: create, edit (credentials replaced,
never shown again), delete, replay dead letters. The caller owns the transaction.

A destination holds ids and a credential, never a URL: where requests go is the
operator's setting (HOPLINK_GA4_BASE_URL ...), so no workspace can point them elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hoplink import audit
from hoplink.errors import FieldError, InvalidInput, NotFound
from hoplink.forwarding.models import EVENTS, Destination, Kind, credential_hint
from hoplink.forwarding.platforms import PLATFORMS
from hoplink.ids import new_id, utcnow
from hoplink.webhooks.secrets import SecretBox

if TYPE_CHECKING:
    from hoplink.storage.tx import Tx

MAX_DESTINATIONS = 10  # per workspace
_TEST_CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def parse_kind(value: str, *, field: str = "kind") -> Kind:
    try:
        return Kind(value.strip().lower())
    except ValueError:
        raise InvalidInput(
            FieldError(field, "unknown_kind", "use one of: " + ", ".join(k.value for k in Kind))
        ) from None


def parse_events(values: Iterable[str], *, field: str = "events") -> tuple[str, ...]:
    events: list[str] = []
    for value in values:
        name = value.strip()
        if name not in EVENTS:
            raise InvalidInput(
                FieldError(
                    field,
                    "unknown_event",
                    f"unknown event {name!r}; use some of: {', '.join(EVENTS)}",
                )
            )
        if name not in events:
            events.append(name)
    if not events:
        raise InvalidInput(FieldError(field, "required", "send at least one kind of event"))
    return tuple(events)


@dataclass(frozen=True, slots=True)
class Changes:
    """What an edit sets (None: unchanged)."""

    name: str | None = None
    account_id: str | None = None
    credential: str | None = None
    events: tuple[str, ...] | None = None
    click_sample_rate: float | None = None
    click_event_name: str | None = None  # "" resets to the platform's default
    test_code: str | None = None  # "" removes it
    enabled: bool | None = None


def _checked(kind: Kind, c: Changes) -> dict[str, object]:
    platform = PLATFORMS[kind]
    values: dict[str, object] = {}
    errors: list[FieldError] = []
    if c.name is not None:
        name = c.name.strip()
        if not 1 <= len(name) <= 100:
            errors.append(FieldError("name", "invalid_length", "must be 1 to 100 characters"))
        values["name"] = name
    if c.account_id is not None:
        account = c.account_id.strip()
        if not platform.account_id.match(account):
            errors.append(FieldError("account_id", "invalid", f"give {platform.account_hint}"))
        values["account_id"] = account
    if c.credential is not None:
        secret = c.credential.strip()
        if not platform.credential.match(secret):
            errors.append(
                FieldError(
                    "credential",
                    "invalid",
                    f"does not look like the {platform.credential_name}:"
                    f" give {platform.credential_hint}",
                )
            )
        values["credential"] = secret
    if c.events is not None:
        values["events"] = c.events
    if c.click_sample_rate is not None:
        rate = c.click_sample_rate
        if not (rate == rate and 0.0 <= rate <= 1.0):  # NaN is not a rate
            errors.append(
                FieldError("click_sample_rate", "out_of_range", "give a number from 0 to 1")
            )
        values["click_sample_rate"] = rate
    if c.click_event_name is not None:
        name = c.click_event_name.strip()
        problem = platform.event_name_problem(name) if name else None
        if problem is not None:
            errors.append(FieldError("click_event_name", "invalid", problem))
        values["click_event_name"] = name or None
    if c.test_code is not None:
        code = c.test_code.strip()
        if kind is Kind.GA4 and code:
            errors.append(FieldError("test_code", "not_supported", "GA4 has no test event code"))
        elif len(code) > 64 or not set(code) <= _TEST_CODE_CHARS:
            errors.append(FieldError("test_code", "invalid", "up to 64 letters, digits, - and _"))
        values["test_code"] = code or None
    if c.enabled is not None:
        values["enabled"] = c.enabled
    if errors:
        raise InvalidInput(errors)
    return values


async def create_destination(
    tx: Tx,
    *,
    workspace_id: str,
    kind: Kind,
    name: str,
    account_id: str,
    credential: str,
    events: tuple[str, ...],
    box: SecretBox,
    click_sample_rate: float = 1.0,
    click_event_name: str | None = None,
    test_code: str | None = None,
    enabled: bool = True,
    actor: str | None = None,
) -> Destination:
    values = _checked(
        kind,
        Changes(
            name=name,
            account_id=account_id,
            credential=credential,
            events=events,
            click_sample_rate=click_sample_rate,
            click_event_name=click_event_name or "",
            test_code=test_code or "",
            enabled=enabled,
        ),
    )
    repo = tx.forwarding(workspace_id)
    if len(await repo.destinations()) >= MAX_DESTINATIONS:
        raise InvalidInput(
            FieldError("kind", "too_many", f"a workspace has at most {MAX_DESTINATIONS}")
        )
    secret = str(values["credential"])
    now = utcnow()
    destination = Destination(
        id=new_id("fwd"),
        workspace_id=workspace_id,
        kind=kind,
        name=str(values["name"]),
        account_id=str(values["account_id"]),
        credential_enc=box.seal(secret),
        credential_hint=credential_hint(secret),
        events=events,
        click_sample_rate=float(click_sample_rate),
        click_event_name=values["click_event_name"],  # type: ignore[arg-type]
        test_code=values["test_code"],  # type: ignore[arg-type]
        enabled=enabled,
        created_at=now,
        updated_at=now,
    )
    await repo.insert_destination(destination)
    await audit.record(
        tx,
        action=audit.INTEGRATION_CREATED,
        actor=actor,
        workspace_id=workspace_id,
        target=destination.id,
        detail={"kind": kind.value, "account_id": destination.account_id},
    )
    return destination


async def get_destination(tx: Tx, *, workspace_id: str, destination_id: str) -> Destination:
    found = await tx.forwarding(workspace_id).destination(destination_id)
    if found is None:
        raise NotFound("no integration with this id")
    return found


async def update_destination(
    tx: Tx,
    *,
    workspace_id: str,
    destination_id: str,
    changes: Changes,
    box: SecretBox,
    actor: str | None = None,
) -> Destination:
    current = await get_destination(tx, workspace_id=workspace_id, destination_id=destination_id)
    values = _checked(current.kind, changes)
    if "credential" in values:
        secret = str(values.pop("credential"))
        values["credential_enc"] = box.seal(secret)
        values["credential_hint"] = credential_hint(secret)
    values["updated_at"] = utcnow()
    await tx.forwarding(workspace_id).update_destination(current.id, values)
    changed = {"credential" if k.startswith("credential") else k for k in values}
    detail = {"changed": " ".join(sorted(changed - {"updated_at"}))}
    if values.get("account_id", current.account_id) != current.account_id:
        detail |= {"old_account_id": current.account_id, "account_id": str(values["account_id"])}
    await audit.record(
        tx,
        action=audit.INTEGRATION_CHANGED,
        actor=actor,
        workspace_id=workspace_id,
        target=current.id,
        detail=detail,
    )
    return await get_destination(tx, workspace_id=workspace_id, destination_id=destination_id)


async def delete_destination(
    tx: Tx, *, workspace_id: str, destination_id: str, actor: str | None = None
) -> None:
    """Delete the destination with its journal and queued events."""
    current = await get_destination(tx, workspace_id=workspace_id, destination_id=destination_id)
    if not await tx.forwarding(workspace_id).delete_destination(destination_id):
        raise NotFound("no integration with this id")
    await audit.record(
        tx,
        action=audit.INTEGRATION_DELETED,
        actor=actor,
        workspace_id=workspace_id,
        target=destination_id,
        detail={"kind": current.kind.value, "account_id": current.account_id},
    )


async def replay(
    tx: Tx,
    *,
    workspace_id: str,
    entry_id: str | None = None,
    destination_id: str | None = None,
) -> int:
    """Queue dead letters again (one by id, all of a destination, or all); how many."""
    if destination_id is not None:
        await get_destination(tx, workspace_id=workspace_id, destination_id=destination_id)
    count = await tx.forwarding(workspace_id).replay(
        now=utcnow(), entry_id=entry_id, destination_id=destination_id
    )
    if entry_id is not None and count == 0:
        raise NotFound("no dead-lettered event with this id")
    return count
