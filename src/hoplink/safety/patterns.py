"""Host patterns of the destination allow- and blocklists, in the form hosts are compared in.

Apart from policy.py so that config.py can check the operator's patterns at start-up
without importing the policy (which reads the settings).
"""

from __future__ import annotations

import idna

from hoplink.net.addresses import host_address


def normalize_pattern(pattern: str) -> str:
    """A host pattern in the form hosts are compared in: lower-case ASCII (punycode).

    ``*.shopee.sg`` keeps its wildcard; ``shopee.sg`` is a plain host. Raises ValueError.
    """
    text = pattern.strip().lower().rstrip(".")
    wildcard = text.startswith("*.")
    host = text[2:] if wildcard else text
    if not host or "*" in host or "/" in host or ":" in host:
        raise ValueError(f"{pattern!r} is not a host pattern like shop.example.com or *.shop.sg")
    if host_address(host) is not None:  # IP-literal destinations are never allowlisted
        raise ValueError(f"{pattern!r} is an IP address; patterns are host names")
    try:
        ascii_host = idna.encode(idna.uts46_remap(host, std3_rules=True)).decode("ascii")
    except UnicodeError:
        raise ValueError(f"{pattern!r} is not a valid host name") from None
    return f"*.{ascii_host}" if wildcard else ascii_host
