"""One settings object, read from the environment (``HR_*`` variables)."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel

TASK_QUEUE = "hr-personnel-actions"


class Settings(BaseModel):
    """Runtime configuration. Every field has a local default that works on one machine."""

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = TASK_QUEUE
    database_url: str = "sqlite:///var/hr.db"
    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "hr-workflows@city.example"
    log_format: str = "console"  # "console" or "json"
    log_level: str = "INFO"
    ui_url: str = "http://localhost:8233"
    dev_db_filename: str = "var/temporal-dev.db"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Builds settings from ``HR_<FIELD>`` variables; unset ones keep their defaults."""
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for name in cls.model_fields:
            raw = env.get(f"HR_{name.upper()}")
            if raw is not None and raw != "":
                values[name] = raw
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings.from_env()
