"""Short-link domains: the platform's, and custom (white-label) ones per workspace.

``service`` holds the operations, ``verification`` the DNS proof, ``models`` the values;
docs/domains.md is the user and operator guide.
"""

from __future__ import annotations

from hoplink.domains.service import domain_for, ensure_default_domain

__all__ = ["domain_for", "ensure_default_domain"]
