"""Trust and safety: link bans, visitor reports, workspace verification and suspension."""
