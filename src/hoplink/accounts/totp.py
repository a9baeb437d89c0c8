"""Optional two-factor sign-in: TOTP (RFC 6238, pyotp) with single-use recovery codes.

The shared secret must be read back to check a code, so it cannot be hashed: it is kept
sealed (Fernet under a key derived with HKDF from the app's secret key, like webhook
secrets). A code is accepted within one 30-second step either side of now, and never
twice: the step of the last accepted code is stored and only later steps pass, in one
conditional UPDATE (two concurrent requests with one code: one wins). Recovery codes are
random, shown once, stored as SHA-256 (salted with the user id) and used once.

A workspace's owner may require a second factor of everyone using the workspace
(``workspace_security.require_totp``); the dashboard then sends members without one to
enrol before they see anything of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hoplink import audit
from hoplink.errors import Conflict, FieldError, InvalidInput, NotFound
from hoplink.ids import utcnow
from hoplink.storage.tx import Tx

ISSUER = "hoplink"
STEP = 30  # seconds (RFC 6238's default, what every authenticator app uses)
RECOVERY_CODES = 10
# No 0/o, 1/l/i: a code copied from paper is read back right.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class TotpBox:
    """Seals and opens TOTP secrets under a key derived from the app's secret key."""

    def __init__(self, app_secret_key: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"hoplink", info=b"hoplink totp v1"
        ).derive(app_secret_key.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("ascii")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise ValueError("this TOTP secret was sealed under another secret key") from None


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def _clean(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step (within one either side of now) whose code is ``code``, or None."""
    code = _clean(code)
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    at = time.time() if now is None else now
    found = None
    for offset in (-1, 0, 1):
        moment = at + offset * STEP
        # Every candidate is compared (no early exit), in constant time.
        if hmac.compare_digest(totp.at(moment), code):
            found = int(moment // STEP)
    return found


def _code_id(user_id: str, code: str) -> str:
    return hashlib.sha256(f"{user_id}:{_clean(code)}".encode()).hexdigest()


def _new_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def _bad_code() -> InvalidInput:
    return InvalidInput(FieldError("code", "invalid", "this code is not valid (or was used)"))


async def is_enabled(tx: Tx, user_id: str) -> bool:
    state = await tx.totp.get(user_id)
    return state is not None and state.enabled


async def begin_enrolment(tx: Tx, *, user_id: str, box: TotpBox) -> str:
    """A new secret waiting for its first code (replacing an unconfirmed one)."""
    state = await tx.totp.get(user_id)
    if state is not None and state.enabled:
        raise Conflict("two-factor sign-in is already on", code="totp_enabled")
    secret = pyotp.random_base32()
    await tx.totp.put_pending(user_id, box.seal(secret), utcnow())
    return secret


async def pending_secret(tx: Tx, *, user_id: str, box: TotpBox) -> str | None:
    state = await tx.totp.get(user_id)
    if state is None or state.enabled:
        return None
    return box.open(state.secret_sealed)


async def confirm_enrolment(tx: Tx, *, user_id: str, code: str, box: TotpBox) -> list[str]:
    """Turn the factor on with a first valid code; the recovery codes (shown once)."""
    state = await tx.totp.get(user_id)
    if state is None or state.enabled:
        raise NotFound("no two-factor enrolment is waiting; start again")
    step = matching_step(box.open(state.secret_sealed), code)
    if step is None or not await tx.totp.confirm(user_id, step, utcnow()):
        raise _bad_code()
    codes = _new_codes()
    await tx.totp.replace_recovery_codes(user_id, [_code_id(user_id, c) for c in codes], utcnow())
    await audit.record(
        tx,
        action=audit.TOTP_ENABLED,
        actor=f"user:{user_id}",
        workspace_id=None,
        target=user_id,
        detail={},
    )
    return codes


async def verify(tx: Tx, *, user_id: str, code: str, box: TotpBox) -> bool:
    """A second factor for sign-in: a current TOTP code (once) or a recovery code (once)."""
    state = await tx.totp.get(user_id)
    if state is None or not state.enabled:
        return False
    step = matching_step(box.open(state.secret_sealed), code)
    if step is not None:
        return await tx.totp.advance(user_id, step)
    cleaned = _clean(code)
    if len(cleaned) != 10 or not (cleaned.isascii() and cleaned.isalnum()):
        return False
    if not await tx.totp.use_recovery_code(user_id, _code_id(user_id, cleaned), utcnow()):
        return False
    await audit.record(
        tx,
        action=audit.TOTP_RECOVERY_USED,
        actor=f"user:{user_id}",
        workspace_id=None,
        target=user_id,
        detail={"left": str(await tx.totp.recovery_codes_left(user_id))},
    )
    return True


async def renew_recovery_codes(tx: Tx, *, user_id: str) -> list[str]:
    if not await is_enabled(tx, user_id):
        raise NotFound("two-factor sign-in is off")
    codes = _new_codes()
    await tx.totp.replace_recovery_codes(user_id, [_code_id(user_id, c) for c in codes], utcnow())
    await audit.record(
        tx,
        action=audit.TOTP_RECOVERY_RENEWED,
        actor=f"user:{user_id}",
        workspace_id=None,
        target=user_id,
        detail={},
    )
    return codes


async def disable(tx: Tx, *, user_id: str, actor: str | None) -> bool:
    if not await tx.totp.delete(user_id):
        return False
    await audit.record(
        tx, action=audit.TOTP_DISABLED, actor=actor, workspace_id=None, target=user_id, detail={}
    )
    return True


async def require_for_workspace(
    tx: Tx, *, workspace_id: str, required: bool, actor: str | None
) -> None:
    """The owner's rule: everyone using the workspace must have a second factor."""
    if await tx.workspace_security.requires_totp(workspace_id) == required:
        return
    await tx.workspace_security.set_require_totp(workspace_id, required, utcnow())
    await audit.record(
        tx,
        action=audit.WORKSPACE_TOTP_RULE,
        actor=actor,
        workspace_id=workspace_id,
        target=workspace_id,
        detail={"require_totp": "1" if required else "0"},
    )
