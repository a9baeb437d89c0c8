"""TOTP codes and sealing (issue 14): what an authenticator app reads from the QR code
gives the codes hoplink accepts, one step either side of now and no further."""

from __future__ import annotations

import time

import pyotp
import pytest

from hoplink.accounts.totp import STEP, TotpBox, matching_step, provisioning_uri


def test_the_enrolment_uri_gives_the_codes_that_are_accepted() -> None:
    secret = pyotp.random_base32()
    uri = provisioning_uri(secret, "ann@example.com")
    assert uri.startswith("otpauth://totp/hoplink:ann%40example.com?")
    app = pyotp.parse_uri(uri)  # what an authenticator app does with the QR's text
    assert isinstance(app, pyotp.TOTP) and app.secret == secret
    now = 1_800_000_015.0
    step = int(now // STEP)
    assert matching_step(secret, app.at(now), now=now) == step
    assert matching_step(secret, app.at(now - STEP), now=now) == step - 1
    assert matching_step(secret, app.at(now + STEP), now=now) == step + 1
    assert matching_step(secret, app.at(now + 2 * STEP), now=now) is None
    assert matching_step(secret, app.at(now - 2 * STEP), now=now) is None
    spaced = app.at(now)[:3] + " " + app.at(now)[3:]
    assert matching_step(secret, spaced, now=now) == step


FULLWIDTH = "\uff11\uff12\uff13\uff14\uff15\uff16"


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12345x", FULLWIDTH])
def test_malformed_codes_never_match(code: str) -> None:
    assert matching_step(pyotp.random_base32(), code, now=time.time()) is None


def test_a_sealed_secret_opens_only_under_the_same_key() -> None:
    box = TotpBox("k" * 40)
    sealed = box.seal("JBSWY3DPEHPK3PXP")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert box.open(sealed) == "JBSWY3DPEHPK3PXP"
    with pytest.raises(ValueError, match="another secret key"):
        TotpBox("j" * 40).open(sealed)
