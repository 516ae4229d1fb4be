"""qdrantsec: make a self-hosted Qdrant deployment secure and keep it that way."""

__version__ = "0.1.0"
