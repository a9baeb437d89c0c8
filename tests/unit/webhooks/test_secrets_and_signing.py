"""Endpoint secrets sealed under the app key, signatures a `standardwebhooks` verifier
accepts (with either secret during a rotation), and the retry schedule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hoplink.delivery_loop import MAX_DELAY, retry_delay
from hoplink.webhooks.secrets import SecretBox, new_secret
from hoplink.webhooks.signing import signed_headers


def test_secret_is_sealed_and_opens_only_under_the_same_app_key() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and len(secret) == 6 + 32
    box = SecretBox("app-key-" + "a" * 40)
    token = box.seal(secret)
    assert secret not in token
    assert box.open(token) == secret
    with pytest.raises(ValueError, match="another secret key"):
        SecretBox("app-key-" + "b" * 40).open(token)


def test_two_secrets_sign_and_each_verifies() -> None:
    old, new = new_secret(), new_secret()
    body = '{"type":"link.created","data":{}}'
    headers = signed_headers(
        message_id="msg_1", timestamp=datetime.now(UTC), payload=body, secrets=[new, old]
    )
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == {"type": "link.created", "data": {}}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body + " ", headers)  # a changed body


def test_retry_delay_doubles_with_jitter_up_to_an_hour() -> None:
    for attempts, base in ((1, 5.0), (2, 10.0), (3, 20.0), (5, 80.0)):
        delay = retry_delay(attempts, base=5.0)
        assert 0.75 * base <= delay <= 1.25 * base
    assert retry_delay(40, base=5.0) <= 1.25 * MAX_DELAY
