"""Click ingest: enrichment steps, the worker that batches clicks into the database, rollups."""
