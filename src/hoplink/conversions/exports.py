"""Marketplace order exports (CSV) → conversion events, through a column mapping that each
workspace saves once.

A preset knows the column names of one marketplace's order export (Shopee, Lazada, Amazon's
All Orders report, TikTok Shop, or a generic file); a workspace may override any field's
column with the header its own export uses. Exports are one row per order *item*: the rows
of one order id are folded into one purchase (the order total when the export has one,
else the sum of its lines), then a cancel when every line is cancelled, or a refund of the
refunded lines (or of the export's refund amount). Each event goes through
``parse.parse_event`` — the very rules of ``POST /api/v1/conversions`` — and the recording
service, so an import is idempotent by order id: the same file again changes nothing, a
changed total is an update with history, a larger refund refunds the difference.

Naive date-times are in the workspace's time zone. Unpaid orders are skipped (not sales
yet). Marketplace exports rarely carry hoplink's click id: orders attribute only when a
mapped column holds ``hl_click`` (or a link id); the others are kept as unattributed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from hoplink import csvtext
from hoplink.conversions.money import CURRENCIES, MAX_AMOUNT, exponent
from hoplink.errors import FieldError, InvalidInput

MAX_ROWS = 20_000
MAX_HEADER = 200
# hoplink's fields, in the order a mapping form shows them.
FIELDS = (
    "order_id",
    "placed_at",
    "status",
    "amount",
    "line_amount",
    "unit_price",
    "quantity",
    "sku",
    "currency",
    "refund_amount",
    "click_id",
    "link_id",
)
REQUIRED = ("order_id", "placed_at")
AMOUNT_FIELDS = ("amount", "line_amount", "unit_price")

_ISO = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
_CLICK = ("hl_click", "click_id", "click id")
_LINK = ("link_id", "hoplink link id")


@dataclass(frozen=True, slots=True)
class Preset:
    label: str
    columns: Mapping[str, tuple[str, ...]]  # field → header names, lower case, first wins
    date_formats: tuple[str, ...]
    delimiter: str = ","
    # Status words (lower-case substrings) per meaning; checked in this order.
    unpaid: tuple[str, ...] = ("unpaid", "awaiting payment", "pending payment", "待付款")
    cancelled: tuple[str, ...] = ("cancel", "取消")
    refunded: tuple[str, ...] = ("refund", "return", "退款", "退货")


# Column names as each marketplace's order export documents them (see docs/attribution.md,
# "Marketplace order exports"); a workspace maps its own when its file differs.
PRESETS: dict[str, Preset] = {
    "shopee": Preset(
        label="Shopee (Seller Centre → My Orders → Export)",
        columns={
            "order_id": ("order id", "order sn", "订单编号"),
            "placed_at": ("order creation date", "order paid time", "订单创建时间"),
            "status": ("order status", "订单状态"),
            "amount": ("grand total", "total amount", "order total amount"),
            "line_amount": ("product subtotal",),
            "unit_price": ("deal price",),
            "quantity": ("quantity",),
            "sku": ("sku reference no.", "parent sku reference no."),
            "refund_amount": ("refund amount",),
            "click_id": _CLICK,
            "link_id": _LINK,
        },
        date_formats=("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%d-%m-%Y %H:%M", "%Y-%m-%d"),
    ),
    "lazada": Preset(
        label="Lazada (Seller Center → Orders → Export)",
        columns={
            "order_id": ("order number", "ordernumber", "order id"),
            "placed_at": ("created at", "createtime", "order creation date"),
            "status": ("status",),
            "line_amount": ("paid price", "paidprice", "unit price", "unitprice"),
            "sku": ("seller sku", "sellersku"),
            "currency": ("currency",),
            "click_id": _CLICK,
            "link_id": _LINK,
        },
        date_formats=("%d %b %Y %H:%M", "%d %b %Y %H:%M:%S", *_ISO),
    ),
    "amazon": Preset(
        label="Amazon (All Orders report, tab-delimited)",
        columns={
            "order_id": ("amazon-order-id", "order-id"),
            "placed_at": ("purchase-date",),
            "status": ("order-status", "item-status"),
            "line_amount": ("item-price",),
            "quantity": ("quantity", "quantity-purchased"),
            "sku": ("sku",),
            "currency": ("currency",),
            "click_id": _CLICK,
            "link_id": _LINK,
        },
        date_formats=_ISO,
        delimiter="\t",
        unpaid=("pending",),
    ),
    "tiktok_shop": Preset(
        label="TikTok Shop (Seller Center → Orders → Export)",
        columns={
            "order_id": ("order id",),
            "placed_at": ("created time", "paid time"),
            "status": ("order status",),
            "amount": ("order amount",),
            "line_amount": ("sku subtotal after discount",),
            "unit_price": ("sku unit original price",),
            "quantity": ("quantity",),
            "sku": ("seller sku", "sku id"),
            "refund_amount": ("order refund amount",),
            "click_id": _CLICK,
            "link_id": _LINK,
        },
        date_formats=("%m/%d/%Y %I:%M:%S %p", "%d/%m/%Y %H:%M:%S", *_ISO),
    ),
    "generic": Preset(
        label="Generic CSV (order_id, placed_at, amount, currency, …)",
        columns={
            "order_id": ("order_id", "order id"),
            "placed_at": ("placed_at", "occurred_at", "created_at", "date"),
            "status": ("status",),
            "amount": ("amount", "total"),
            "line_amount": ("line_amount",),
            "unit_price": ("price", "unit_price"),
            "quantity": ("quantity", "qty"),
            "sku": ("sku",),
            "currency": ("currency",),
            "refund_amount": ("refund_amount", "refunded"),
            "click_id": _CLICK,
            "link_id": _LINK,
        },
        date_formats=_ISO,
    ),
}


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """A workspace's saved mapping: a preset, its own header per field, a currency."""

    preset: str = "generic"
    columns: Mapping[str, str] = field(default_factory=dict)
    currency: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"preset": self.preset, "columns": dict(self.columns), "currency": self.currency}


def check_mapping(preset: Any, columns: Any, currency: Any) -> ColumnMapping:
    """A mapping from user input; InvalidInput names every bad field."""
    errors: list[FieldError] = []
    if preset not in PRESETS:
        errors.append(FieldError("preset", "invalid", f"use one of {', '.join(PRESETS)}"))
    clean: dict[str, str] = {}
    if not isinstance(columns, dict):
        errors.append(FieldError("columns", "dict_type", "an object of field → column header"))
    else:
        for name, header in columns.items():
            where = f"columns.{name}"
            if name not in FIELDS:
                errors.append(FieldError(where, "unknown_field", f"use {', '.join(FIELDS)}"))
            elif header is None or header == "":
                continue  # the preset's column
            elif (
                not isinstance(header, str)
                or len(header.strip()) > MAX_HEADER
                or not header.strip()
                or not header.isprintable()
            ):
                errors.append(
                    FieldError(where, "invalid", f"a column header of 1 to {MAX_HEADER} characters")
                )
            else:
                clean[name] = header.strip()
    code = None
    if currency not in (None, ""):
        code = currency.strip().upper() if isinstance(currency, str) else ""
        if code not in CURRENCIES:
            errors.append(FieldError("currency", "invalid_currency", "an ISO 4217 code"))
    if errors:
        raise InvalidInput(errors)
    return ColumnMapping(str(preset), clean, code)


@dataclass
class ExportOrder:
    """The rows of one order id, folded."""

    order_id: str
    rows: list[int]  # line numbers in the file
    event: dict[str, Any]  # the purchase, as POST /api/v1/conversions takes it
    cancelled: bool
    refund: int  # minor units refunded in all (cumulative), 0: none
    refund_event_id: str


@dataclass
class RowProblem:
    row: int
    order_id: str | None
    errors: list[FieldError]  # field = the column header (or "row")


@dataclass
class ParsedExport:
    orders: list[ExportOrder]
    problems: list[RowProblem]
    skipped: list[tuple[int, str | None, str]]  # (row, order id, why)
    rows: int
    columns: dict[str, str]  # field → the header used


def _delimiter(line: str, preset: Preset) -> str:
    counts = {d: line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts.get(preset.delimiter, 0) else preset.delimiter


def _locate(
    header: Sequence[str], mapping: ColumnMapping, preset: Preset
) -> tuple[dict[str, int], dict[str, str]]:
    lowered = [h.strip().lstrip("\ufeff").lower() for h in header]
    index: dict[str, int] = {}
    for name in FIELDS:
        wanted = (mapping.columns[name].lower(),) if name in mapping.columns else ()
        for candidate in (*wanted, *preset.columns.get(name, ())):
            if candidate in lowered:
                index[name] = lowered.index(candidate)
                break
    return index, {name: header[i].strip() for name, i in index.items()}


def _money(text: str, currency: str) -> int | None:
    """Major units as printed ("1,234.56", "RM 12.90", "Rp 150.000") → minor units."""
    # A currency code or symbol before or after the number ("RM 12.90", "12.50 USD");
    # anything else that is not a digit or separator ("1e999") makes it unreadable.
    core = re.sub(r"^[^\d\-.,]*|[^\d.,]*$", "", text.strip())
    if not re.fullmatch(r"-?[\d.,\s\u00a0\u202f']+", core):
        return None
    cleaned = re.sub(r"[\s\u00a0\u202f']", "", core)
    if not cleaned or cleaned in ("-", "--"):
        return None
    digits = exponent(currency)
    if "," in cleaned and "." in cleaned:
        decimal_sep = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        cleaned = cleaned.replace(thousands, "").replace(decimal_sep, ".")
    elif "," in cleaned:
        whole, _, frac = cleaned.rpartition(",")
        cleaned = cleaned.replace(",", "") if len(frac) == 3 else f"{whole.replace(',', '')}.{frac}"
    elif cleaned.count(".") > 1 or (digits == 0 and re.fullmatch(r"\d{1,3}(\.\d{3})+", cleaned)):
        cleaned = cleaned.replace(".", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    return int(value.scaleb(digits).to_integral_value())


def _when(text: str, preset: Preset, tz: ZoneInfo) -> datetime | None:
    text = text.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None:
        for fmt in preset.date_formats:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def _status(text: str, preset: Preset) -> str:
    lowered = text.strip().lower()
    for meaning, words in (
        ("unpaid", preset.unpaid),
        ("cancelled", preset.cancelled),
        ("refunded", preset.refunded),
    ):
        if any(w in lowered for w in words):
            return meaning
    return "paid"


@dataclass
class _Lines:
    first_row: int
    rows: list[int] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    amount: int | None = None
    lines: list[int | None] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    currency: str = ""
    placed_at: datetime | None = None
    refund: int | None = None
    click_id: str | None = None
    link_id: str | None = None


def parse_export(
    text: str,
    mapping: ColumnMapping,
    *,
    timezone: str,
    default_currency: str,
) -> ParsedExport:
    """The orders of an export; what cannot be read is reported per row, never guessed."""
    preset = PRESETS.get(mapping.preset)
    if preset is None:
        raise InvalidInput(FieldError("preset", "invalid", f"use one of {', '.join(PRESETS)}"))
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    try:
        lines = csvtext.rows(text, delimiter=_delimiter(first, preset))
    except csvtext.UnreadableCsv as exc:
        raise InvalidInput(FieldError("file", exc.code, str(exc))) from None
    start = None
    index: dict[str, int] = {}
    used: dict[str, str] = {}
    for n, cells in enumerate(lines[:20]):
        index, used = _locate(cells, mapping, preset)
        if "order_id" in index:
            start = n
            break
    if start is None:
        wanted = mapping.columns.get("order_id") or preset.columns["order_id"][0]
        raise InvalidInput(
            FieldError("file", "no_header", f"no header row with the order id column ({wanted!r})")
        )
    missing = [f for f in REQUIRED if f not in index]
    if not any(f in index for f in AMOUNT_FIELDS):
        missing.append("amount")
    if missing:
        raise InvalidInput(
            [
                FieldError(
                    f"columns.{f}", "missing_column", "no such column in the file: map it first"
                )
                for f in missing
            ]
        )
    if len(lines) - start - 1 > MAX_ROWS:
        raise InvalidInput(FieldError("file", "too_many", f"at most {MAX_ROWS} rows"))
    tz = ZoneInfo(timezone)
    header = used
    problems: list[RowProblem] = []
    skipped: list[tuple[int, str | None, str]] = []
    grouped: dict[str, _Lines] = {}
    rows = 0

    def cell(cells: list[str], name: str) -> str:
        i = index.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    for n, cells in enumerate(lines[start + 1 :], start=start + 2):
        if not cells or all(not c.strip() for c in cells):
            continue
        order_id = cell(cells, "order_id")
        when_text = cell(cells, "placed_at")
        if n == start + 2 and _when(when_text, preset, tz) is None and " " in order_id:
            continue  # a row describing the columns under the header (TikTok Shop's)
        rows += 1
        errors: list[FieldError] = []
        if not order_id:
            errors.append(FieldError(header["order_id"], "missing", "no order id"))
        currency = (cell(cells, "currency") or mapping.currency or default_currency).upper()
        if currency not in CURRENCIES:
            errors.append(
                FieldError(header.get("currency", "currency"), "invalid_currency", "not ISO 4217")
            )
            currency = default_currency
        placed = _when(when_text, preset, tz)
        if placed is None:
            errors.append(FieldError(header["placed_at"], "invalid_datetime", "not a date-time"))
        status = _status(cell(cells, "status"), preset) if "status" in index else "paid"
        amounts: dict[str, int | None] = {}
        for name in ("amount", "line_amount", "unit_price", "refund_amount"):
            raw = cell(cells, name)
            amounts[name] = _money(raw, currency) if raw else None
            value = amounts[name]
            if raw and (value is None or value < 0 or value > MAX_AMOUNT):
                errors.append(FieldError(header[name], "invalid", "not an amount"))
                amounts[name] = None
        qty_raw = cell(cells, "quantity") or "1"
        digits = qty_raw.isascii() and qty_raw.isdigit()  # "²".isdigit() is True too
        qty = int(qty_raw) if digits and 0 < int(qty_raw) <= 1_000_000 else None
        if qty is None:
            errors.append(FieldError(header.get("quantity", "quantity"), "invalid", "not a count"))
        if errors:
            problems.append(RowProblem(n, order_id or None, errors))
            continue
        assert qty is not None and placed is not None
        if status == "unpaid":
            skipped.append((n, order_id, "unpaid"))
            continue
        line = amounts["line_amount"]
        if line is None and amounts["unit_price"] is not None:
            line = amounts["unit_price"] * qty
        group = grouped.setdefault(order_id, _Lines(first_row=n))
        if group.currency and group.currency != currency:
            problems.append(
                RowProblem(
                    n,
                    order_id,
                    [FieldError(header.get("currency", "currency"), "mixed", "another currency")],
                )
            )
            continue
        group.rows.append(n)
        group.statuses.append(status)
        group.currency = currency
        group.placed_at = min(filter(None, (group.placed_at, placed)))
        group.lines.append(line)
        if group.amount is None and amounts["amount"] is not None:
            group.amount = amounts["amount"]
        if amounts["refund_amount"] is not None:
            group.refund = max(group.refund or 0, amounts["refund_amount"])
        sku = cell(cells, "sku")[:100]
        if sku and sku.isprintable() and line is not None and len(group.items) < 200:
            group.items.append({"sku": sku, "quantity": qty, "price": line // qty})
        group.click_id = group.click_id or cell(cells, "click_id") or None
        group.link_id = group.link_id or cell(cells, "link_id") or None
    # An order with a line that cannot be read is refused whole: from its other lines alone
    # it would be recorded (and forwarded) with a wrong total.
    refused = {p.order_id: p.row for p in problems if p.order_id}
    orders = []
    for order_id, g in grouped.items():
        if order_id in refused:
            why = f"row {refused[order_id]} of this order has an error; fix it and import again"
            problems += [
                RowProblem(n, order_id, [FieldError(header["order_id"], "order_has_errors", why)])
                for n in g.rows
            ]
            continue
        built = _fold(order_id, g)
        if isinstance(built, RowProblem):
            problems.append(built)
        else:
            orders.append(built)
    return ParsedExport(orders, problems, skipped, rows, used)


def _fold(order_id: str, g: _Lines) -> ExportOrder | RowProblem:
    total = g.amount
    if total is None:
        if any(line is None for line in g.lines):
            return RowProblem(
                g.first_row, order_id, [FieldError("amount", "missing", "no amount on a line")]
            )
        total = sum(line or 0 for line in g.lines)
    if total > MAX_AMOUNT:
        return RowProblem(g.first_row, order_id, [FieldError("amount", "too_large", "too large")])
    cancelled = all(s == "cancelled" for s in g.statuses)
    refund = 0
    if not cancelled:
        if g.refund is not None:
            refund = g.refund
        elif any(s in ("cancelled", "refunded") for s in g.statuses):
            reversed_lines = [
                line for s, line in zip(g.statuses, g.lines, strict=True) if s != "paid"
            ]
            # A line without its own amount: the whole order was refunded.
            refund = total if None in reversed_lines else sum(x or 0 for x in reversed_lines)
        refund = min(refund, total)
    event: dict[str, Any] = {
        "type": "purchase",
        "order_id": order_id,
        "amount": total,
        "currency": g.currency,
        "occurred_at": (g.placed_at or datetime.now(UTC)).isoformat(),
    }
    if g.items:
        event["items"] = g.items
    if g.click_id:
        event["click_id"] = g.click_id
    elif g.link_id:
        event["link_id"] = g.link_id
    digest = hashlib.sha256(order_id.encode()).hexdigest()[:24]
    return ExportOrder(
        order_id=order_id,
        rows=g.rows,
        event=event,
        cancelled=cancelled,
        refund=refund,
        refund_event_id=f"x-refund:{digest}:{refund}",
    )
