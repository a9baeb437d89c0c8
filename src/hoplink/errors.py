"""The one error tree of hoplink.

Every error a user can cause is a ``HoplinkError`` with a stable ``code`` and an
HTTP ``status``; the API renders them as RFC 7807 problem details in one place
(``hoplink.api.problems``), the dashboard as its error page, and the CLI prints the message.

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
    ├── RateLimited                    429 rate_limited    (Retry-After)
    │   └── QuotaExceeded              429 quota_exceeded  (workspaces.quotas)
    └── ServiceUnavailable             503 unavailable     (Retry-After; the dashboard before
                                                            start-up, a database outage)

Operational failures are not a user's doing, so they stay outside the tree: each is
handled where it happens, and none reaches a client as anything but the answer below.

    Exception
    ├── ConfigError            config        settings that cannot work, naming the variable:
    │                                        the CLI (serve, worker) exits 2
    ├── SchemaOutOfDate        runtime       PostgreSQL behind the code: "run `hoplink db
    │                                        upgrade` first", exit 1 (serve: before listening)
    ├── JournalLocked          ingest.journal  another process writes the click journal:
    │                                        the web process does not start (a locked
    │                                        production spool belongs to a live node: skipped)
    ├── CircuitOpen            redirect.breaker  a failed dependency is not called again
    │                                        until the breaker's delay has passed
    ├── UniqueViolation        storage.tx    an insert hit a unique constraint inside
    │                                        ``Tx.savepoint()``; services retry (a generated
    │                                        code) or turn it into CodeTaken or Conflict
    ├── FetchError             net.fetch     the safe fetcher (verification, webhooks)
    │   ├── FetchRefused                     not allowed: nothing was connected
    │   └── FetchFailed                      timeout, network, size or redirects
    ├── BackupFailed           storage.backup  ``hoplink db backup``: message, exit 1
    ├── CopyRefused            storage.copy  ``hoplink db copy`` cannot start: exit 1
    └── CopyFailed             storage.copy  broke off, rolled back, target unchanged

    Raised by libraries, caught by name:
    TimeoutError               every call to PostgreSQL, Redis or the network on a hot
                               path runs under ``asyncio.timeout``; running out is handled
                               as that dependency failing (see below)
    OSError                    the CLI: "cannot reach the database", exit 1;
                               the click journal: a short write or failed fsync
    sqlalchemy DBAPIError      the ingest worker: a batch holding a value the database
                               refuses for good (SQLSTATE class 22) is split until that
                               click is dropped as ``unwritable``; any other error retries
                               the batch with backoff, unacknowledged

Where an outage lands:

    PostgreSQL down   redirects: cache hits still 302 (memory, then the Redis tier); a miss
                      is answered 503 + Retry-After (the visitor page), never 404, and the
                      breaker answers the next misses at once (hoplink_redirect_lookups_failed);
                      the worker keeps its batch and retries; readiness 503.
                      The API, the Shlink API and the dashboard: 503 unavailable with
                      Retry-After (storage.outage tells an outage from a bug, which stays
                      500 internal). SQLite locked past its busy timeout or unreadable: same.
    Redis down        clicks spool to local disk and are replayed when it is back; rate
                      limits and login throttling decide per process; the shared link
                      cache is skipped behind its breaker; readiness 503.
    Journal write     the visitor still gets the 302; the click is counted as lost
                      (``hoplink_redirect_clicks_lost``) and logged once per 1,000.
    After commit      a failing after-commit listener is logged; the committed change stays.
                      A before-commit listener's error rolls the whole change back.
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
        self.taken = code
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

    def __init__(self, message: str | None = None, *, retry_after: int = 5) -> None:
        self.retry_after = retry_after
        super().__init__(message)
