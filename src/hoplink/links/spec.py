"""What a caller asks of the link service, as values: a new link (``LinkSpec``), a partial
edit (``LinkEdit``), and the operator's rules both are held to (``LinkRules``).

``LinkEdit`` tells "leave as it is" (``UNSET``, the default) apart from "clear" (``None``):
an API PATCH that omits ``title`` keeps it, one that sends ``"title": null`` clears it.
Validation lives in ``hoplink.links.validation``; these are plain values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Final, TypeVar

from hoplink.safety.policy import DestinationPolicy, policy_from_settings
from hoplink.unset import UNSET, Unset

if TYPE_CHECKING:
    from hoplink.config import Settings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """What a user asks for; validated by the service, not by the caller."""

    url: str
    utm: Mapping[str, str | None] = field(default_factory=dict)
    channel: str | None = None
    campaign_id: str | None = None
    tags: Sequence[str] = ()
    title: str | None = None
    notes: str | None = None
    code: str | None = None
    forward_query: bool | None = None  # None: the domain's default (issue 16)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    max_clicks: int | None = None
    expiry_url: str | None = None
    pass_ad_click_ids: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkEdit:
    """A partial edit of a link: each field is ``UNSET`` (kept), a value, or, where the
    link may lack it, ``None`` (cleared). The final URL follows from the result."""

    url: str | Unset = UNSET
    # Merged into the link's UTM tags: only the names given change (None clears one).
    utm: Mapping[str, str | None] | Unset = UNSET
    channel: str | Unset | None = UNSET
    campaign_id: str | Unset | None = UNSET
    tags: Sequence[str] | Unset = UNSET
    title: str | Unset | None = UNSET
    notes: str | Unset | None = UNSET
    archived: bool | Unset = UNSET
    disabled: bool | Unset = UNSET
    forward_query: bool | Unset = UNSET
    pass_ad_click_ids: bool | Unset = UNSET
    starts_at: datetime | Unset | None = UNSET
    ends_at: datetime | Unset | None = UNSET
    max_clicks: int | Unset | None = UNSET
    expiry_url: str | Unset | None = UNSET


# The fields of a LinkEdit that may be None (cleared); the others are kept when left out.
CLEARABLE: Final = frozenset(
    {"channel", "campaign_id", "title", "notes", "starts_at", "ends_at", "max_clicks", "expiry_url"}
)

# The built-in rules when the operator set none: open mode, every block on.
BUILT_IN_POLICY: Final = DestinationPolicy()


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkRules:
    """The operator's rules for creating and editing links, built once from the settings
    (``Runtime.link_rules``) and handed whole to the link services."""

    # Length of generated codes (HOPLINK_CODE_LENGTH).
    code_length: int = 7
    # Only verified workspaces may create links (HOPLINK_REQUIRE_VERIFIED_WORKSPACE).
    require_verified: bool = True
    # Which destinations are allowed; the default is the built-in rules (open mode).
    policy: DestinationPolicy = BUILT_IN_POLICY

    @classmethod
    def from_settings(cls, settings: Settings) -> LinkRules:
        return cls(
            code_length=settings.code_length,
            require_verified=settings.require_verified_workspace,
            policy=policy_from_settings(settings),
        )
