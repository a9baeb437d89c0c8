"""Standard Webhooks headers, signed with the `standardwebhooks` package (so that any
receiver library verifies them). Several secrets (a rotation overlap): one signature each,
space-separated in webhook-signature, as the specification allows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from standardwebhooks.webhooks import Webhook


def signed_headers(
    *, message_id: str, timestamp: datetime, payload: str, secrets: Sequence[str]
) -> dict[str, str]:
    signatures = [Webhook(s).sign(message_id, timestamp, payload) for s in secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
