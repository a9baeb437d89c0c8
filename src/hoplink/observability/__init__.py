"""Observability: request/worker logs (`logs`), Prometheus metrics (`metrics`), the
request observer middleware (`observe`) and the liveness/readiness probes (`health`)."""
