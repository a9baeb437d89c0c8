"""Webhooks (issue 10): endpoints, a transactional outbox, signed delivery by the worker.

Other code emits an event inside its transaction with ``hoplink.webhooks.outbox.emit``.
"""
