"""Durable storage: SQLModel tables, the repository, Alembic migrations."""

from .repository import Store, hash_token, normalise_url

__all__ = ["Store", "hash_token", "normalise_url"]
