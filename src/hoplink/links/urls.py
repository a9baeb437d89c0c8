"""Destination URLs: validation, canonical form, and the URL a visitor is redirected to.

Pure domain logic (no HTTP, no SQL). Every rejection is an ``InvalidInput`` naming the field,
with a stable code and a message that says what to fix. We never silently repair input: the
only thing stripped is leading/trailing ASCII spaces of the whole URL (people paste with them).

The raw text is checked *before* any parsing: ``urlsplit`` silently drops tabs, newlines and
leading control characters (CVE-2022-0391, CVE-2023-24329) and browsers read ``\\`` as ``/``,
so a URL validated after parsing is not the URL that gets followed. We then parse by hand and
store/emit only the re-serialised canonical form, which is printable ASCII (0x21-0x7E) and a
fixed point of ``canonicalize_destination``.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import string
import unicodedata
from collections.abc import Mapping
from urllib.parse import quote, unquote_plus

import idna

from hoplink.clicks.adids import AD_CLICK_ID_PARAMS
from hoplink.errors import FieldError, InvalidInput
from hoplink.net.addresses import whatwg_ipv4

UTM_FIELDS: tuple[str, ...] = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
)
MAX_URL_LENGTH = 4096  # on the canonical form
MAX_UTM_LENGTH = 200
MAX_TEMPLATE_KEYS = 20
MAX_TEMPLATE_VALUE_LENGTH = 200
TEMPLATE_PLACEHOLDERS: frozenset[str] = frozenset(
    {"seller_id", "channel", "campaign_id", "campaign"}
)
CLICK_ID_PARAM = "hl_click"

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Control (C0, DEL, C1), invisible formatting (zero-width, bidi overrides, BOM, ...),
# line/paragraph separators and lone surrogates. Rejected in URLs and in UTM/template text.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
# RFC 3986 pchar plus "/"; everything else (", <, >, [, ], ^, `, {, |, }, non-ASCII) is encoded.
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_SAFE = _PATH_SAFE | {"?"}

_ESCAPE_OR_CHAR = re.compile(r"%[0-9A-Fa-f]{2}|.", re.DOTALL)
# Text made only of _QUERY_SAFE characters and upper-case escapes needs no encoding (a path
# never contains "?", so one pattern serves path, query and fragment).
_ALREADY_SAFE = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-F]{2})*")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
# "example.com/x", "shop.example.com:8080", "localhost:8080": a host missing its scheme.
_BARE_DOMAIN = re.compile(
    r"[^/?#:@.]+(?:(?:\.[^/?#:@.]+)+\.?(?::[0-9]{1,5})?|:[0-9]{1,5})(?:[/?#]|\Z)"
)
_ASCII_HOST = re.compile(r"[A-Za-z0-9.\-]+")
_LDH_HOST = re.compile(r"[a-z0-9\-]+(?:\.[a-z0-9\-]+)*")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]+")
_PORT = re.compile(r"[0-9]{1,5}")
_PARAM_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class _Rejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}" if name else f"U+{ord(char):04X}"


def _preview(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_forbidden(text: str) -> None:
    """Raise on the first control/invisible character; positions are 1-based."""
    if text.isascii() and text.isprintable():  # fast path: no C0 controls or DEL
        return
    for index, char in enumerate(text):
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise _Rejected(
                "control_character",
                f"must not contain control characters (found {_describe(char)} "
                f"at position {index + 1})",
            )


def _encode_component(text: str, safe: frozenset[str]) -> str:
    """Percent-encode what is not allowed, keeping valid %XX escapes (hex made uppercase)."""

    if _ALREADY_SAFE.fullmatch(text):  # fast path: nothing to encode or upper-case
        return text

    def fix(match: re.Match[str]) -> str:
        piece = match.group()
        if len(piece) == 3:  # an existing %XX escape
            return piece.upper()
        return piece if piece in safe else quote(piece, safe="")  # "%" -> "%25", UTF-8 bytes

    return _ESCAPE_OR_CHAR.sub(fix, text)


def _split_reference(rest: str) -> tuple[str, str | None, str | None]:
    """Split "path?query#fragment"; None means the delimiter was absent."""
    before_hash, hash_sign, fragment = rest.partition("#")
    path, question_mark, query = before_hash.partition("?")
    return path, (query if question_mark else None), (fragment if hash_sign else None)


def _parse_scheme(text: str) -> tuple[str, str]:
    if text.startswith("//"):
        raise _Rejected(
            "missing_scheme", "must start with https:// (links starting with // are not allowed)"
        )
    match = _SCHEME.match(text)
    if _BARE_DOMAIN.match(text):
        hint = _preview(text)
        raise _Rejected("missing_scheme", f"add https:// in front, e.g. https://{hint}")
    if match is None:
        raise _Rejected("missing_scheme", "must be a full link starting with https:// or http://")
    scheme = match.group(1).lower()
    if scheme not in _DEFAULT_PORTS:
        raise _Rejected(
            "unsupported_scheme",
            f"only http and https links are allowed (got '{match.group(1)}:')",
        )
    return scheme, text[match.end() :]


def _canonical_ipv6(literal: str) -> str:
    # No zone ids ("%25eth0"): they mean nothing outside one machine.
    try:
        if not _IPV6_CHARS.fullmatch(literal):
            raise ValueError(literal)
        address = ipaddress.IPv6Address(literal)
    except ValueError:
        raise _Rejected(
            "invalid_host", f"'[{_preview(literal)}]' is not an IPv6 address like [2001:db8::1]"
        ) from None
    return f"[{address.compressed}]"


@functools.lru_cache(maxsize=4096)  # bulk imports repeat a few shop hosts thousands of times
def _canonical_host(host: str) -> str:
    if not host:
        raise _Rejected("missing_host", "must contain a host name, e.g. https://example.com/")
    if host.isascii() and not _ASCII_HOST.fullmatch(host):
        bad = next(c for c in host if not (c.isalnum() or c in ".-"))
        raise _Rejected(
            "invalid_host",
            f"the host must not contain {bad!r}; only letters, digits, '-' and '.' are allowed",
        )
    invalid = f"'{_preview(host)}' is not a valid host name"
    try:
        mapped = idna.uts46_remap(host, std3_rules=True, transitional=False).removesuffix(".")
        if "" in mapped.split("."):
            raise _Rejected("invalid_host", f"{invalid} (empty label, e.g. '..')")
        ascii_host = idna.encode(mapped).decode("ascii").lower()
    except UnicodeError as exc:  # idna.IDNAError is a UnicodeError
        raise _Rejected("invalid_host", f"{invalid} ({_preview(str(exc), 100)})") from None
    if len(ascii_host) > 253 or not _LDH_HOST.fullmatch(ascii_host):
        raise _Rejected("invalid_host", invalid)
    # Like browsers, a host whose last label is a number is an IPv4 address - and then we
    # require the plain dotted-quad form (no "127.1", "0x7f.0.0.1" or "2130706433").
    if _NUMERIC_LABEL.fullmatch(ascii_host.rsplit(".", 1)[-1]):
        try:
            return str(ipaddress.IPv4Address(ascii_host))
        except ValueError:
            # Say what a browser would read it as: "0x7f.1" hides 127.0.0.1.
            meant = whatwg_ipv4(ascii_host)
            if meant is not None:
                invalid = f"'{_preview(host)}' is another way to write the IP address {meant}"
            raise _Rejected(
                "invalid_host", f"{invalid}; write IPv4 addresses as four numbers like 192.0.2.1"
            ) from None
    return ascii_host


def _canonical_authority(authority: str, scheme: str) -> str:
    if "@" in authority:
        raise _Rejected(
            "credentials_not_allowed",
            "must not contain a user name or password (user@ or user:pass@); "
            "remove everything up to and including '@'",
        )
    if authority.startswith("["):
        literal, bracket, port_part = authority[1:].partition("]")
        if not bracket or (port_part and not port_part.startswith(":")):
            raise _Rejected("invalid_host", "an IPv6 address must be written as [2001:db8::1]")
        host = _canonical_ipv6(literal)
        port_text = port_part[1:] if port_part else None
    else:
        host_part, colon, port_text_or_empty = authority.partition(":")
        if ":" in port_text_or_empty:
            raise _Rejected(
                "invalid_host", "IPv6 addresses must be in brackets, e.g. https://[2001:db8::1]/"
            )
        host = _canonical_host(host_part)
        port_text = port_text_or_empty if colon else None
    if port_text is None:
        return host
    if not _PORT.fullmatch(port_text) or not 1 <= int(port_text) <= 65535:
        raise _Rejected(
            "invalid_port",
            f"the port must be a number from 1 to 65535 (got '{_preview(port_text)}'); "
            "or remove the ':' after the host",
        )
    port = int(port_text)
    return host if port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"


def _canonicalize(raw: str) -> str:
    if len(raw) > 4 * MAX_URL_LENGTH:  # cheap guard before scanning huge input
        raise _Rejected("too_long", f"must be at most {MAX_URL_LENGTH} characters long")
    _check_forbidden(raw)
    text = raw.strip(" ")
    if not text:
        raise _Rejected("required", "must not be empty")
    offset = len(raw) - len(raw.lstrip(" "))
    for index, char in enumerate(text):
        if unicodedata.category(char) == "Zs":
            raise _Rejected(
                "whitespace",
                f"must not contain spaces (found {_describe(char)} at position "
                f"{offset + index + 1}); encode a space in a path or query as %20",
            )
    if "\\" in text:
        position = offset + text.index("\\") + 1
        raise _Rejected(
            "backslash",
            f"must not contain a backslash (at position {position}); use '/' or encode it as %5C",
        )
    scheme, rest = _parse_scheme(text)
    if not rest.startswith("//"):
        raise _Rejected(
            "missing_host", f"must look like {scheme}://example.com/... ('//' and a host name)"
        )
    rest = rest[2:]
    authority_end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    authority = _canonical_authority(rest[:authority_end], scheme)
    path, query, fragment = _split_reference(rest[authority_end:])
    canonical = f"{scheme}://{authority}{_encode_component(path, _PATH_SAFE) or '/'}"
    if query is not None:
        canonical += "?" + _encode_component(query, _QUERY_SAFE)
    if fragment is not None:
        canonical += "#" + _encode_component(fragment, _QUERY_SAFE)
    if len(canonical) > MAX_URL_LENGTH:
        raise _Rejected(
            "too_long",
            f"must be at most {MAX_URL_LENGTH} characters long once encoded "
            f"(it is {len(canonical)})",
        )
    return canonical


def canonicalize_destination(raw: str, *, field: str = "url") -> str:
    """Validate a destination URL and return its canonical, re-serialised form.

    Raises InvalidInput naming `field`.
    """
    try:
        return _canonicalize(raw)
    except _Rejected as exc:
        raise InvalidInput.one(field, exc.code, exc.message) from None


def clean_utm_value(name: str, value: str | None) -> str | None:
    """Validate one UTM value; None/empty/whitespace-only -> None.

    Returns the NFC-normalised, stripped *decoded* text. Control characters are checked on
    the raw value, before stripping, so a trailing tab is an error rather than trimmed.
    """
    if value is None:
        return None
    try:
        _check_forbidden(value)
    except _Rejected as exc:
        raise InvalidInput.one(name, exc.code, exc.message) from None
    cleaned = unicodedata.normalize("NFC", value).strip()
    if not cleaned:
        return None
    if len(cleaned) > MAX_UTM_LENGTH:
        raise InvalidInput.one(
            name,
            "too_long",
            f"must be at most {MAX_UTM_LENGTH} characters long (it is {len(cleaned)})",
        )
    return cleaned


def _param_name_problem(name: str) -> tuple[str, str] | None:
    """(code, message) saying why `name` cannot be a bound parameter, or None if it can."""
    if not _PARAM_NAME.fullmatch(name):
        return "invalid_name", "must be 1-64 characters of letters, digits, '_', '.' and '-'"
    if name.lower().startswith("utm_"):
        return "reserved_parameter", "must not start with utm_; UTM values have their own fields"
    if name.lower() == CLICK_ID_PARAM:
        return "reserved_parameter", f"{CLICK_ID_PARAM} is reserved for hoplink's click ids"
    return None


def _template_value_errors(value: str) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    try:
        _check_forbidden(value)
    except _Rejected as exc:
        problems.append((exc.code, exc.message))
    if not value.strip():
        problems.append(("required", "must not be empty; give it a value or remove it"))
    if len(value) > MAX_TEMPLATE_VALUE_LENGTH:
        problems.append(
            ("too_long", f"must be at most {MAX_TEMPLATE_VALUE_LENGTH} characters long")
        )
    allowed = ", ".join(f"{{{p}}}" for p in sorted(TEMPLATE_PLACEHOLDERS))
    for literal in _PLACEHOLDER.split(value)[::2]:
        if "{" in literal or "}" in literal:
            problems.append(
                ("unbalanced_brace", f"has an unmatched '{{' or '}}'; placeholders are {allowed}")
            )
            break
    for placeholder in _PLACEHOLDER.findall(value):
        if placeholder not in TEMPLATE_PLACEHOLDERS:
            problems.append(
                (
                    "unknown_placeholder",
                    f"unknown placeholder {{{placeholder}}}; use one of {allowed}",
                )
            )
    return problems


def validate_param_template(
    template: Mapping[str, str], *, field: str = "param_template"
) -> dict[str, str]:
    """Validate a workspace's bound-parameter template, e.g. {"aff_seller": "{seller_id}"}.

    Reports every problem at once, each at the path "<field>.<key>".
    """
    if len(template) > MAX_TEMPLATE_KEYS:
        raise InvalidInput.one(
            field,
            "too_many_parameters",
            f"may have at most {MAX_TEMPLATE_KEYS} parameters (it has {len(template)})",
        )
    errors: list[FieldError] = []
    for key, value in template.items():
        path = f"{field}.{key}"
        problem = _param_name_problem(key)
        if problem is not None:
            errors.append(FieldError(path, problem[0], f"parameter name {problem[1]}"))
        errors.extend(FieldError(path, c, m) for c, m in _template_value_errors(value))
    if errors:
        raise InvalidInput(errors)
    return dict(template)


def render_param_template(
    template: Mapping[str, str], context: Mapping[str, str | None]
) -> dict[str, str]:
    """Substitute placeholders; a parameter whose rendered value is blank is omitted."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in TEMPLATE_PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}} in an unvalidated template")
        return context.get(name) or ""

    rendered = {key: _PLACEHOLDER.sub(substitute, value) for key, value in template.items()}
    return {key: value for key, value in rendered.items() if value.strip()}


def _decoded_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for piece in query.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((unquote_plus(name), unquote_plus(value)))
    return pairs


def query_params(url: str) -> list[tuple[str, str]]:
    """Decoded query parameters of a URL, in order (``+`` decodes to a space)."""
    _, query, _ = _split_reference(url.partition("#")[0])
    return _decoded_pairs(query) if query else []


def click_param_of(final_url: str, name: str) -> str | None:
    """``name``, unless the stored URL already binds it (any case): a seller who put it
    there keeps their value, and a Location never carries the name twice."""
    lower = name.lower()
    if lower in final_url.lower() and any(n.lower() == lower for n, _ in query_params(final_url)):
        return None
    return name


def check_click_param(name: str, *, field: str = "click_id_param") -> str:
    """A valid name to append click ids under (a workspace's override of the default)."""
    if not _PARAM_NAME.fullmatch(name):
        raise InvalidInput.one(
            field, "invalid_name", "must be 1-64 characters of letters, digits, '_', '.' and '-'"
        )
    lower = name.lower()
    if lower.startswith("utm_") or lower in AD_CLICK_ID_PARAMS:
        raise InvalidInput.one(
            field, "reserved_parameter", "must not be a UTM field or an ad platform's click id"
        )
    return name


def _encode_param(name: str, value: str) -> str:
    return f"{quote(name, safe='')}={quote(value, safe='')}"


def build_final_url(
    destination: str, *, utm: Mapping[str, str | None], bound: Mapping[str, str]
) -> str:
    """The URL a visitor is redirected to; `destination` is already canonical.

    Bound (template) parameters are authoritative: a value the destination already has for
    that name is replaced in place (and later duplicates dropped), because otherwise a seller
    could paste a link carrying another seller's affiliate id and spoof their attribution.
    Remaining bound parameters, then UTM values (in UTM_FIELDS order), are appended.
    """
    unknown = sorted(set(utm) - set(UTM_FIELDS))
    if unknown:
        raise InvalidInput.one(unknown[0], "unknown_field", "is not a UTM field")
    for name in bound:
        problem = _param_name_problem(name)
        if problem is not None:
            raise InvalidInput.one(f"param_template.{name}", *problem)

    base_and_query, hash_sign, fragment = destination.partition("#")
    base, question_mark, query = base_and_query.partition("?")
    pieces = [piece for piece in query.split("&") if piece]
    existing = _decoded_pairs(query)  # aligned with `pieces`
    names = [name for name, _ in existing]
    if any(name.lower() == CLICK_ID_PARAM for name in names):
        raise InvalidInput.one(
            "url",
            "reserved_parameter",
            f"the destination URL must not contain the {CLICK_ID_PARAM} parameter; "
            "hoplink adds it to identify clicks",
        )

    cleaned = {name: clean_utm_value(name, utm.get(name)) for name in UTM_FIELDS}
    conflicts: list[FieldError] = []
    for name, value in cleaned.items():
        clashing = [
            v for n, v in existing if n == name and unicodedata.normalize("NFC", v).strip() != value
        ]
        if value is not None and clashing:
            conflicts.append(
                FieldError(
                    name,
                    "utm_conflict",
                    f"the destination URL already sets {name}={_preview(clashing[0])}; "
                    "remove it from the URL or leave this field empty",
                )
            )
    if conflicts:
        raise InvalidInput(conflicts)

    result: list[str] = []
    placed: set[str] = set()
    for piece, name in zip(pieces, names, strict=True):
        if name not in bound:
            result.append(piece)
        elif name not in placed:
            result.append(_encode_param(name, bound[name]))
            placed.add(name)
    result.extend(_encode_param(n, v) for n, v in bound.items() if n not in placed)
    result.extend(
        _encode_param(name, value)
        for name, value in cleaned.items()
        if value is not None and name not in names
    )

    new_query = "&".join(result) if result else query
    url = base + ("?" + new_query if question_mark or result else "")
    return url + (hash_sign + fragment)
