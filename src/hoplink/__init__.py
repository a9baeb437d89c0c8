"""hoplink: short links and click attribution for cross-border e-commerce."""

__version__ = "0.1.0"
