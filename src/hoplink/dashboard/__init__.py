"""The seller dashboard: server-rendered pages under ``/app`` on the admin host.

A Starlette app (no FastAPI: there is no API schema to generate here) wrapped in three
pure-ASGI layers, outermost first: security headers (``headers``), the signed session
cookie (``sessions``) and the CSRF check of every unsafe request (``csrf``). Views are
thin: they parse a form, call the domain services (``hoplink.links``, ``hoplink.analytics``
…) inside one transaction, and render a Jinja2 template with autoescaping on.
"""
