"""The optional A/B cookie: a visitor's variant, kept on the short domain across days.

Off by default (``HOPLINK_AB_COOKIE_DAYS=0``): the daily visitor id alone picks the variant,
so a visitor may be split afresh at midnight UTC when its salt rotates. On, the redirect of
a link with a running test sends ``hl_ab=<variant id>`` scoped to that link's path
(``Path=/<code>``: no other link, and nothing else on the domain, ever sees it), and on the
next visit a cookie naming a variant of the *running* test wins over the daily visitor id.
A variant id is random per test, so a cookie of a stopped test, another link or a forged
value matches nothing and the visitor id decides again (and the cookie is rewritten). The
cookie only ever picks among the link's stored variant URLs: it never supplies a Location.

It holds the variant id and nothing else (no visitor identifier). Reading it is a scan of
the request's headers, no I/O; the header is written only when the visitor's cookie does not
already name the variant they got.
"""

from __future__ import annotations

import re

from starlette.types import Scope

NAME = "hl_ab"
_VALUE = re.compile(rb"var_[A-Za-z0-9]{16}")
_KEY = NAME.encode() + b"="


def pinned(scope: Scope) -> str | None:
    """The variant id the visitor's ``hl_ab`` cookie names, if it looks like one (a search
    of the header's bytes: no decoding or splitting of the other cookies)."""
    for name, value in scope["headers"]:
        if name != b"cookie":
            continue
        at = value.find(_KEY)
        while at != -1:
            if at == 0 or value[at - 1] in b"; ":  # a cookie's name, not the end of one
                end = value.find(b";", at)
                found = value[at + len(_KEY) : end if end != -1 else len(value)].rstrip()
                if _VALUE.fullmatch(found):
                    return str(found.decode("ascii"))
            at = value.find(_KEY, at + 1)
    return None


def set_cookie(code: str, variant: str, *, days: int, secure: bool) -> tuple[bytes, bytes]:
    """The ``Set-Cookie`` header keeping ``variant`` for this link's path.

    ``code`` matched the redirect's code pattern and ``variant`` is a stored id: neither
    can carry a separator or a line break."""
    attrs = f"{NAME}={variant}; Max-Age={days * 86400}; Path=/{code}; HttpOnly; SameSite=Lax"
    if secure:
        attrs += "; Secure"
    return b"set-cookie", attrs.encode("ascii")
