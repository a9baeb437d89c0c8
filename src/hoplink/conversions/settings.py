"""Attribution settings and commission rules of a workspace, validated."""

from __future__ import annotations

import unicodedata
from decimal import Decimal, InvalidOperation

from hoplink.conversions.attribution import MAX_WINDOW_DAYS, MIN_WINDOW_DAYS
from hoplink.conversions.models import CommissionRule, Model, Settings
from hoplink.conversions.money import CURRENCIES, current_currencies, not_current_reason
from hoplink.errors import FieldError, InvalidInput, NotFound
from hoplink.ids import new_id, utcnow
from hoplink.storage.tx import Tx


def parse_percent(value: str | float, *, field: str, low: float, high: float) -> int:
    """A percentage ("8", "7.5") as basis points, within [low, high] percent."""
    try:
        pct = Decimal(str(value).strip().rstrip("%"))
    except InvalidOperation:
        raise InvalidInput(
            FieldError(field, "invalid", "give a percentage such as 8 or 7.5")
        ) from None
    if not pct.is_finite() or not Decimal(str(low)) <= pct <= Decimal(str(high)):
        raise InvalidInput(FieldError(field, "out_of_range", f"use {low:g} to {high:g} percent"))
    bp = pct * 100
    if bp != bp.to_integral_value():
        raise InvalidInput(FieldError(field, "invalid", "at most two decimals"))
    return int(bp)


async def update_settings(
    tx: Tx,
    *,
    workspace_id: str,
    window_days: int | None = None,
    model: str | None = None,
    currency: str | None = None,
    commission_percent: str | float | None = None,
    commission_range: tuple[float, float],
) -> Settings:
    repo = tx.conversions(workspace_id)
    current = await repo.settings()
    errors: list[FieldError] = []
    window = current.window_days if window_days is None else window_days
    if not MIN_WINDOW_DAYS <= window <= MAX_WINDOW_DAYS:
        errors.append(
            FieldError(
                "window_days", "out_of_range", f"use {MIN_WINDOW_DAYS} to {MAX_WINDOW_DAYS} days"
            )
        )
    chosen = current.model
    if model is not None:
        try:
            chosen = Model(model)
        except ValueError:
            errors.append(FieldError("model", "invalid", "use last_click, first_click or linear"))
    code = current.currency if currency is None else currency.strip().upper()
    if code not in CURRENCIES:
        errors.append(FieldError("currency", "invalid_currency", "is not an ISO 4217 code"))
    elif code != current.currency and code not in current_currencies(utcnow().date()):
        # A withdrawn code already chosen (HRK before 2023) stays until changed.
        reason = not_current_reason(code, utcnow().date())
        errors.append(FieldError("currency", "not_current_currency", reason))
    bp = current.commission_bp
    if commission_percent is not None:
        try:
            bp = parse_percent(
                commission_percent,
                field="commission_percent",
                low=commission_range[0],
                high=commission_range[1],
            )
        except InvalidInput as exc:
            errors += exc.errors
    if errors:
        raise InvalidInput(errors)
    settings = Settings(window_days=window, model=chosen, currency=code, commission_bp=bp)
    await repo.save_settings(settings, utcnow())
    return settings


async def put_rule(
    tx: Tx,
    *,
    workspace_id: str,
    kind: str,
    ref: str,
    percent: str | float,
    commission_range: tuple[float, float],
) -> CommissionRule:
    """A commission override for a tag (by name) or a campaign (by id) of this workspace."""
    if kind not in ("tag", "campaign"):
        raise InvalidInput(FieldError("kind", "invalid", "use tag or campaign"))
    ref = unicodedata.normalize("NFC", ref.strip())
    if kind == "campaign":
        if await tx.campaigns(workspace_id).get(ref) is None:
            raise InvalidInput(FieldError("ref", "not_found", "no campaign with this id"))
    elif not 1 <= len(ref) <= 64:
        raise InvalidInput(FieldError("ref", "invalid", "give the tag's name"))
    elif not await tx.tags(workspace_id).ids([ref]):
        raise InvalidInput(FieldError("ref", "unknown_tag", f"this workspace has no tag {ref!r}"))
    bp = parse_percent(percent, field="percent", low=commission_range[0], high=commission_range[1])
    rule = CommissionRule(id=new_id("com"), kind=kind, ref=ref, rate_bp=bp)
    await tx.conversions(workspace_id).put_rule(rule, utcnow())
    return rule


async def delete_rule(tx: Tx, *, workspace_id: str, rule_id: str) -> None:
    if not await tx.conversions(workspace_id).delete_rule(rule_id):
        raise NotFound("no such commission rule in this workspace")
