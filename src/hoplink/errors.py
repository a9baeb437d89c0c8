"""The one error tree of hoplink.

Every error a user can cause is a ``HoplinkError`` with a stable ``code`` and an
HTTP ``status``; the API renders them as RFC 7807 problem details in one place
(``hoplink.api.problems``) and the CLI prints the message.

    HoplinkError                       500 internal
    ├── InvalidInput                   422 invalid_input   (carries FieldErrors)
    │   └── CodeTaken                  409 code_taken
    ├── BadRequest                     400 bad_request
    ├── AuthenticationFailed           401 unauthenticated
    ├── PermissionDenied               403 forbidden
    │   ├── WorkspaceSuspended         403 workspace_suspended
    │   ├── WorkspaceNotVerified       403 workspace_not_verified
    │   └── LinkBanned                 403 link_banned
    ├── NotFound                       404 not_found
    ├── Conflict                       409 conflict
    ├── PayloadTooLarge                413 payload_too_large
    ├── RateLimited                    429 rate_limited
    └── ServiceUnavailable             503 unavailable
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input field.

    ``field`` is a dotted path (``utm_source``, ``items.3.url``); ``code`` is a
    stable machine-readable reason; ``message`` tells a person what to fix.
    """

    field: str
    code: str
    message: str

    def nested(self, prefix: str) -> FieldError:
        return FieldError(
            f"{prefix}.{self.field}" if self.field else prefix, self.code, self.message
        )


class HoplinkError(Exception):
    status: int = 500
    code: str = "internal"
    title: str = "Internal error"

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message or self.title
        if code is not None:
            self.code = code
        super().__init__(self.message)


class InvalidInput(HoplinkError):
    """Input that breaks a rule; lists every offending field."""

    status = 422
    code = "invalid_input"
    title = "Invalid input"

    def __init__(self, errors: list[FieldError] | FieldError, message: str | None = None) -> None:
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        if message is None:
            first = self.errors[0]
            message = f"{first.field}: {first.message}" if first.field else first.message
            if len(self.errors) > 1:
                message += f" (and {len(self.errors) - 1} more)"
        super().__init__(message)

    @classmethod
    def one(cls, field: str, code: str, message: str) -> InvalidInput:
        return cls(FieldError(field, code, message))


class CodeTaken(InvalidInput):
    """A custom short code that exists already (or once existed) on the domain."""

    status = 409
    code = "code_taken"
    title = "Code taken"

    def __init__(self, code: str, *, field: str = "code") -> None:
        super().__init__(
            FieldError(field, "code_taken", f"'{code}' is already taken on this domain")
        )


class BadRequest(HoplinkError):
    status = 400
    code = "bad_request"
    title = "Bad request"


class AuthenticationFailed(HoplinkError):
    status = 401
    code = "unauthenticated"
    title = "Authentication required"


class PermissionDenied(HoplinkError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class WorkspaceSuspended(PermissionDenied):
    code = "workspace_suspended"
    title = "Workspace suspended"


class WorkspaceNotVerified(PermissionDenied):
    """Link creation is reserved to verified sellers (HOPLINK_REQUIRE_VERIFIED_WORKSPACE)."""

    code = "workspace_not_verified"
    title = "Workspace not verified"


class LinkBanned(PermissionDenied):
    """A platform admin banned the link: its owner can read it but not change it."""

    code = "link_banned"
    title = "Link banned"


class NotFound(HoplinkError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(HoplinkError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(HoplinkError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class RateLimited(HoplinkError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: int = 1,
        quota: int | None = None,
        window: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        # The limit that was hit (events per window seconds), for RateLimit-Policy headers.
        self.quota, self.window = quota, window
        super().__init__(message)


class ServiceUnavailable(HoplinkError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"
