"""An ad platform credential is shown by its last four characters only when it is at least
20 long; a shorter one is shown fully masked (the last four would give too much away)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hoplink.forwarding.models import Destination, Kind, credential_hint

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _destination(secret: str) -> Destination:
    return Destination(
        id="fwd_1", workspace_id="ws_1", kind=Kind.GA4, name="n", account_id="G-1",
        credential_enc="", credential_hint=credential_hint(secret), events=("click",),
        click_sample_rate=1.0, click_event_name=None, test_code=None, enabled=True,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip


@pytest.mark.parametrize("secret", ["a" * 16 + "wxyz", "EAA" + "x" * 200 + "wxyz"])
def test_a_long_secret_shows_its_last_four(secret: str) -> None:
    assert credential_hint(secret) == "wxyz"
    assert _destination(secret).masked_credential == "••••wxyz"


@pytest.mark.parametrize("secret", ["", "abcd", "secret1234", "a" * 15 + "wxyz"])
def test_a_shorter_secret_is_fully_masked(secret: str) -> None:
    assert credential_hint(secret) == ""
    masked = _destination(secret).masked_credential
    assert masked == "••••••••" and "wxyz" not in masked and "1234" not in masked
