"""Click ingest: the click queues the redirect edge hands clicks to (``journal``: embedded,
fsync'd segments; ``redis_stream``: production; ``backlog``: a node's local spool), and
their consumer: enrichment steps, the worker that batches clicks into the database, rollups.
"""
