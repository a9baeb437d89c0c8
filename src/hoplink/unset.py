"""``UNSET``: the "leave as it is" of partial edits, told apart from ``None`` ("clear").

A module of its own, importing nothing of hoplink, so that storage can take edit values
(``WorkspaceUpdate``) without importing the domain packages that define them.
"""

from __future__ import annotations

import enum
from typing import Final, TypeVar

T = TypeVar("T")


class Unset(enum.Enum):
    """The type of ``UNSET``: a field a partial edit leaves as it is."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET


def given(value: T | Unset, default: T) -> T:
    """``value`` unless it is ``UNSET``, else ``default``."""
    return default if isinstance(value, Unset) else value
