"""Stats as query objects: a validated ``StatsQuery`` → rollup SQL → ``StatsResult``."""
