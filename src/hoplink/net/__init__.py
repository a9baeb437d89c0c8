"""hoplink's own outbound network access (domain verification; later titles, health checks)."""
