"""The benefits enrollment tables (migration 0007). Registered on ``SQLModel.metadata`` by
``schemas.tables``, which imports this module at its end."""

from __future__ import annotations
