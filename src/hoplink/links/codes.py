"""Short codes: random ones for everybody, custom ones under rules."""

from __future__ import annotations

import re
from collections.abc import Callable

from hoplink.errors import FieldError
from hoplink.ids import random_base62

# A seam for tests: given a length, return a code. Production uses ``secrets``.
CodeGenerator = Callable[[int], str]
default_generator: CodeGenerator = random_base62

CUSTOM_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
MIN_CUSTOM, MAX_CUSTOM = 3, 64

# Paths the web app itself uses, or that read as the service's own pages; compared
# case-insensitively so "API" cannot pose as an official page either.
RESERVED_CODES = frozenset(
    {
        "about", "account", "admin", "api", "app", "assets", "auth", "dashboard", "docs",
        "favicon.ico", "health", "healthz", "help", "hoplink", "index", "links", "login",
        "logout", "me", "metrics", "openapi", "openapi.json", "privacy", "readyz", "redoc",
        "register", "report", "robots.txt", "security", "settings", "signin", "signout",
        "signup", "static", "stats", "support", "terms", "well-known", ".well-known", "www",
    }
)  # fmt: skip


def check_custom_code(code: str, *, field: str = "code") -> FieldError | None:
    """None if the custom code is acceptable, else what is wrong with it."""
    if not MIN_CUSTOM <= len(code) <= MAX_CUSTOM:
        return FieldError(
            field, "invalid_length", f"must be {MIN_CUSTOM} to {MAX_CUSTOM} characters long"
        )
    if not CUSTOM_CODE_RE.match(code):
        return FieldError(
            field,
            "invalid_characters",
            "may contain only letters A-Z a-z, digits, '-' and '_', and must start with a"
            " letter or digit",
        )
    if code.lower() in RESERVED_CODES:
        return FieldError(field, "reserved", f"'{code}' is reserved; choose another code")
    return None
