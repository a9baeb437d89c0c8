"""Customer identifiers, normalised and SHA-256 hashed as the ad platforms ask.

Only the hashes are kept (Meta Conversions API, TikTok Events API and Google's enhanced
conversions all match on them); the plain e-mail or phone number never reaches storage.

- e-mail: trimmed, lower-cased (all three platforms).
- phone: digits only, with the country code, no leading ``00``/``+`` (Meta, TikTok);
  Google wants E.164 with the ``+``, so that form is hashed as well.
- external id: trimmed, as given (Meta's ``external_id``, TikTok's ``external_id``).
"""

from __future__ import annotations

import hashlib
import re

from hoplink.errors import FieldError

_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalise_email(raw: str) -> str | None:
    email = raw.strip().lower()
    return email if _EMAIL_RE.match(email) else None


def normalise_phone(raw: str) -> str | None:
    """Digits of an international number (country code first), or None."""
    text = raw.strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        digits = digits[2:]
    digits = digits.lstrip("0")
    return digits if 7 <= len(digits) <= 15 else None


def hash_customer(
    *,
    external_id: str | None,
    email: str | None,
    phone: str | None,
    email_sha256: str | None = None,
    phone_sha256: str | None = None,
) -> tuple[dict[str, str], list[FieldError]]:
    """The hashes to keep, and what was wrong (field names under ``customer``)."""
    out: dict[str, str] = {}
    errors: list[FieldError] = []
    if external_id is not None:
        value = external_id.strip()
        if not 1 <= len(value) <= 200:
            errors.append(
                FieldError("external_id", "invalid_length", "must be 1 to 200 characters")
            )
        else:
            out["external_id_sha256"] = sha256(value)
    if email is not None:
        normal = normalise_email(email)
        if normal is None:
            errors.append(FieldError("email", "invalid", "is not an e-mail address"))
        else:
            out["email_sha256"] = sha256(normal)
    elif email_sha256 is not None:
        if not _HEX64_RE.match(email_sha256):
            errors.append(FieldError("email_sha256", "invalid", "must be 64 lowercase hex digits"))
        else:
            out["email_sha256"] = email_sha256
    if phone is not None:
        digits = normalise_phone(phone)
        if digits is None:
            errors.append(
                FieldError("phone", "invalid", "give 7 to 15 digits with the country code")
            )
        else:
            out["phone_sha256"] = sha256(digits)
            out["phone_e164_sha256"] = sha256("+" + digits)
    elif phone_sha256 is not None:
        if not _HEX64_RE.match(phone_sha256):
            errors.append(FieldError("phone_sha256", "invalid", "must be 64 lowercase hex digits"))
        else:
            out["phone_sha256"] = phone_sha256
    return out, [e.nested("customer") for e in errors]
