"""Logging: structlog for every line, JSON or for people, never with an IP address in it.

One handler on the root logger formats through structlog's ``ProcessorFormatter``, so the
existing ``logging.getLogger(...)`` calls (ours, uvicorn's, SQLAlchemy's) come out in the
same shape as structlog's own loggers. Every line carries the request id of the request
it was written for (``REQUEST_ID``, a context variable the dispatcher sets).

The last step before rendering replaces anything that parses as an IPv4 or IPv6 address
with ``[ip]``: hoplink never stores client addresses, and this holds even for a library
that logs its peer or an exception that names one (defence in depth, not the first line).
The ad platforms' click ids (``fbclid=…``, ``{"gclid": "…"}``; clicks/adids.py) identify
a person's ad click: their values become ``[ad-click-id]`` the same way.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import re
import secrets
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from hoplink.clicks.adids import AD_CLICK_ID_PARAMS, AD_CLICK_IDS
from hoplink.config import Settings

REQUEST_ID: ContextVar[str | None] = ContextVar("hoplink_request_id", default=None)

# An incoming X-Request-ID is kept only when it is a plain token (no spaces, quotes, dots
# or colons, so it can be neither a log injection nor an IP address).
_SAFE_ID = re.compile(rb"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_ID_PREFIX = secrets.token_hex(6)  # per process: ids stay unique across nodes and restarts
_id_counter = itertools.count(1)

REDACTED = "[ip]"
AD_REDACTED = "[ad-click-id]"
# name=value (a URL or query), or name": "value / name': 'value / name: value (JSON, reprs).
_AD_ID = re.compile(
    r"(?i)(?<![A-Za-z0-9_])("
    + "|".join(re.escape(a.param) for a in AD_CLICK_IDS)
    + r")(=|[\"']?\s*:\s*[\"']?)([^&\s#\"',;}\]]+)"
)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?"
    r"(?:%[\w.]+)?(?![\w:]|\.\d)"
)


def request_id(incoming: bytes | None) -> str:
    """The id of a request: the client's (a proxy's) X-Request-ID if it is a safe token,
    else a new one. Cheap: no system call, a counter behind a random per-process prefix."""
    if incoming is not None and _SAFE_ID.fullmatch(incoming):
        return incoming.decode("ascii")
    return f"{_ID_PREFIX}-{next(_id_counter):x}"


# --- processors --------------------------------------------------------------------------


def add_request_id(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    rid = REQUEST_ID.get()
    if rid is not None:
        event.setdefault("request_id", rid)
    return event


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def scrub_text(text: str) -> str:
    """``text`` with every IP address in it replaced by ``[ip]``, and the value of every ad
    click id by ``[ad-click-id]``."""
    if "=" in text or ":" in text:
        text = _AD_ID.sub(lambda m: f"{m.group(1)}{m.group(2)}{AD_REDACTED}", text)
    if ":" in text:  # first: an IPv6 address may end in an IPv4 one (::ffff:192.0.2.1)
        text = _IPV6.sub(lambda m: REDACTED if _is_ip(m.group()) else m.group(), text)
    if "." in text:
        text = _IPV4.sub(lambda m: REDACTED if _is_ip(m.group()) else m.group(), text)
    return text


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return REDACTED
    if isinstance(value, Mapping):
        return {_scrub(k): _scrub_under(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(v) for v in value]
    text = str(value)
    scrubbed = scrub_text(text)
    return value if scrubbed == text else scrubbed


def _scrub_under(key: object, value: Any) -> Any:
    if isinstance(key, str) and key.lower() in AD_CLICK_ID_PARAMS and value:
        return AD_REDACTED
    return _scrub(value)


def scrub_ip_addresses(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    """Replace IP addresses in every key and value of the event (run after exceptions are
    rendered to text, right before the renderer)."""
    return {
        scrub_text(key) if isinstance(key, str) else key: _scrub_under(key, value)
        for key, value in event.items()
    }


# --- configuration -----------------------------------------------------------------------

_HANDLER_MARK = "_hoplink_handler"


def configure(settings: Settings, *, stream: TextIO | None = None) -> None:
    """Configure logging for this process from the settings (call once at start; again
    replaces the previous configuration)."""
    configure_logging(fmt=settings.log_format, level=settings.log_level, stream=stream)


def configure_logging(
    *,
    fmt: Literal["console", "json"],
    level: str = "info",
    stream: TextIO | None = None,
) -> None:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            scrub_ip_addresses,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)  # libraries: warnings and errors only
    logging.getLogger("hoplink").setLevel(level.upper())
    # uvicorn's loggers carry their own handlers (and stop propagation) when uvicorn set
    # up logging itself; hand them to ours so its lines come out in the same format.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi"):
        server_log = logging.getLogger(name)
        for old in list(server_log.handlers):
            server_log.removeHandler(old)
        server_log.propagate = True

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a logger first used before (or between) configurations would keep the
        # old chain. structlog loggers are used off the hot path only (request lines).
        cache_logger_on_first_use=False,
    )
