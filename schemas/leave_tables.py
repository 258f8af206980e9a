"""The leave tables (migration 0008). Registered on ``SQLModel.metadata`` by ``schemas.tables``,
which imports this module at its end."""

from __future__ import annotations
