"""A Shlink REST API v3 compatible surface (``/rest/v3/...``, ``X-Api-Key``).

Thin adapters: every call maps Shlink's names onto hoplink's link, tag and analytics
services and maps the answer back; nothing here decides anything a service already
decides. The mapping, and what is not mapped, is in docs/shlink-compat.md.
"""
