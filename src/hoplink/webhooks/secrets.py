"""Endpoint signing secrets: made here, shown once, kept encrypted.

Signing (HMAC-SHA256, Standard Webhooks) needs the raw secret, so it cannot be hashed like
an API key. It is kept as a Fernet token (AES-128-CBC + HMAC-SHA256, `cryptography`) under
a key derived with HKDF from the app's secret key: a copy of the database alone does not
reveal it.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PREFIX = "whsec_"  # the Standard Webhooks spelling every receiver library accepts


def new_secret() -> str:
    """``whsec_`` + base64 of 24 random bytes (192 bits)."""
    return _PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


class SecretBox:
    def __init__(self, app_secret_key: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"hoplink",
            info=b"hoplink webhook endpoint secrets v1",
        ).derive(app_secret_key.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("ascii")).decode("ascii")

    def open(self, token: str) -> str:
        """The raw secret; ValueError if the token was not sealed under this app key."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise ValueError("the secret was sealed under another secret key") from None
