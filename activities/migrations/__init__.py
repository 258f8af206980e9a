"""Alembic environment for the system of record; see ``activities.db.migration_config``."""
