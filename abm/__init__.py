"""compute-abm: an agent-based model of compute capitalism (the economics of AI inference)."""

__version__ = "0.1.0"
