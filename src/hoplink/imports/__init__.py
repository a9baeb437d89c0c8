"""Imports from other shorteners: readers per source format, and one import service.

Readers (``formats``, ``kutt``) turn a source into ``SourceLink`` values and know nothing
of hoplink; ``service`` plans and applies them through the link service (so every rule of
link creation applies), idempotently, with a per-row report.
"""
