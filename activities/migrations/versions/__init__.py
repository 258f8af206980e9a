"""Alembic revisions, oldest first (``0001_initial_schema`` is the base)."""
