"""One settings object, read from the environment (``HR_*`` variables)."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

TASK_QUEUE = "hr-personnel-actions"


class SettingsError(ValueError):
    """An ``HR_*`` variable has a value that cannot be used; the message names the variable."""


class Settings(BaseModel):
    """Runtime configuration. Every field has a local default that works on one machine."""

    # Validation errors never echo a value: HR_CODEC_KEY and HR_CODEC_AUTH_TOKEN are secrets.
    model_config = ConfigDict(hide_input_in_errors=True)

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
    # Payload encryption (service/codec.py): base64 of a 32-byte key; unset means no encryption.
    codec_key: str | None = Field(default=None, repr=False)
    codec_key_id: str = "hr-1"
    # When set, the codec server answers only requests with "Authorization: Bearer <token>".
    codec_auth_token: str | None = Field(default=None, repr=False)
    codec_port: int = 8234

    @field_validator("codec_key")
    @classmethod
    def _codec_key_is_a_key(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from service.codec import key_from_env_value

        key_from_env_value(value)  # raises with a message that does not quote the key
        return value.strip()

    @field_validator("codec_key_id")
    @classmethod
    def _codec_key_id_is_plain(cls, value: str) -> str:
        value = value.strip()
        if not value or not value.isascii() or not value.isprintable():
            raise ValueError("HR_CODEC_KEY_ID must be a non-empty printable ASCII label, e.g. hr-1")
        return value

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Builds settings from ``HR_<FIELD>`` variables; unset ones keep their defaults."""
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for name in cls.model_fields:
            raw = env.get(f"HR_{name.upper()}")
            if raw is not None and raw != "":
                values[name] = raw
        try:
            return cls.model_validate(values)
        except ValidationError as err:
            problems = "; ".join(_describe(e) for e in err.errors())
            raise SettingsError(f"invalid settings: {problems}") from None


def _describe(error: Any) -> str:
    """One validation error as ``HR_VARIABLE: message`` (the value itself is never shown)."""
    message = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"]:
        return message
    variable = f"HR_{str(error['loc'][0]).upper()}"
    return message if message.startswith(variable) else f"{variable}: {message}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings.from_env()
