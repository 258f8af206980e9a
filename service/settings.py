"""One settings object, read from the environment (``HR_*`` variables) by pydantic-settings.

There is no ``.env`` file: the worker, the CLI and the codec server read the process
environment only, so what runs is what ``env | grep ^HR_`` shows, wherever ``hr`` is started.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import timedelta
from functools import lru_cache
from typing import Any

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

TASK_QUEUE = "hr-personnel-actions"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class SettingsError(ValueError):
    """An ``HR_*`` variable has a value that cannot be used; the message names the variable."""


_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("hr_settings_environ", default=None)
"""The variables ``Settings.from_env(environ)`` reads instead of the process environment."""


class _MappingEnvSource(EnvSettingsSource):
    """``HR_*`` variables from a given mapping instead of ``os.environ`` (same rules otherwise)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {
            (name if self.case_sensitive else name.lower()): value
            for name, value in self._environ.items()
            if not (self.env_ignore_empty and value == "")
        }


class Settings(BaseSettings):
    """Runtime configuration. Every field has a local default that works on one machine.

    ``Settings()`` reads ``HR_<FIELD>`` variables (any case; an empty one counts as unset);
    keyword arguments win over them. ``Settings.from_env`` is the same with the one-line
    ``SettingsError`` the CLI prints.
    """

    model_config = SettingsConfigDict(
        env_prefix="HR_",
        case_sensitive=False,
        env_ignore_empty=True,
        env_file=None,
        # Validation errors never echo a value: HR_CODEC_KEY and HR_CODEC_AUTH_TOKEN are secrets.
        hide_input_in_errors=True,
    )

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
    # SecretStr: shown as '**********' in repr, str and logs; .get_secret_value() gives the text.
    codec_key: SecretStr | None = None
    codec_key_id: str = "hr-1"
    # When set, the codec server answers only requests carrying it ("Authorization: Bearer <token>"
    # or the path /t/<token>/…). Unset: `hr dev` makes one per run; `hr codec-server` answers
    # only the Web UI on this machine.
    codec_auth_token: SecretStr | None = None
    codec_port: int = 8234
    # The probation of `hr demo --onboarding`'s hire (30s, 2m, 1h, 10d); under a day it counts
    # from the moment the probation starts. Only the demo sets it on its recruitment.
    demo_probation: timedelta = timedelta(minutes=1)
    # ----- operations (issue 12) -----
    # Retired codec keys that still decrypt (never encrypt): "id:base64key,id:base64key".
    # Rotation (`hr admin rotate-key`): the new key becomes HR_CODEC_KEY/HR_CODEC_KEY_ID and the
    # old one moves here until no history that needs it is kept any more.
    codec_previous_keys: SecretStr | None = None
    # The yearly job-description review sweep (a Temporal Schedule made by `hr admin setup`):
    # the day (MM-DD) and time (HH:MM) it runs, in the time zone, the age that makes a description
    # due, and the HR person id it runs as (HR staff in the store; `hr admin setup` checks).
    sweep_schedule_date: str = "01-15"
    sweep_schedule_time: str = "06:00"
    sweep_schedule_timezone: str = "UTC"
    sweep_older_than_years: int = 10
    sweep_requested_by: str = "E1008"
    # The worker's capacity (worker.build_worker; measured in bench/README.md, "Worker settings"):
    # workflows kept in the sticky cache (an evicted run is replayed on its next task or query),
    # workflow tasks and activities run at once, and the threads the synchronous activities run on.
    worker_max_cached_workflows: int = 300
    worker_max_concurrent_workflow_tasks: int = 8
    worker_max_concurrent_activities: int = 4
    worker_activity_threads: int = 4
    # Prometheus metrics of a worker (the SDK's and the service's) on HR_METRICS_HOST:HR_METRICS_PORT;
    # unset: no metrics endpoint.
    metrics_port: int | None = None
    metrics_host: str = "0.0.0.0"
    # Client TLS (a Temporal cluster with TLS, Temporal Cloud): files of PEM text. A CA file alone
    # checks the server; a certificate and key are the client's own (mTLS); HR_TEMPORAL_TLS=true
    # with no files uses the system's roots. HR_TEMPORAL_API_KEY (Temporal Cloud) implies TLS.
    temporal_tls: bool = False
    temporal_tls_ca: str | None = None
    temporal_tls_cert: str | None = None
    temporal_tls_key: str | None = None
    temporal_tls_server_name: str | None = None
    temporal_api_key: SecretStr | None = None
    # Sign-in (service/identity.py). Production: HR_AUTH_PRIVATE_KEY (PEM Ed25519) where
    # credentials are issued, HR_AUTH_PUBLIC_KEYS_FILE (PEM public keys: the current key, the
    # previous one until its credentials expire, the identity provider's) on every worker.
    # Unset: the embedded default keeps a key pair under auth_key_dir, made on first start.
    auth_private_key: SecretStr | None = None
    auth_public_keys_file: str | None = None
    auth_key_dir: str = "var/auth"
    auth_token_dir: str = "var/auth/tokens"
    auth_login_minutes: int = 480
    auth_session_minutes: int = 60
    auth_link_days: int = 14
    # The approvers' web application (web/): where it listens, and the address in mailed links.
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    web_url: str = "http://localhost:8080"
    # Production sign-in by the city's identity provider (OIDC; service/identity.py): tokens it
    # issues (RS256/ES256/EdDSA) are accepted as answers' credentials when signed by a key of
    # HR_OIDC_JWKS_FILE (its JWKS, as fetched from its jwks_uri), issued by HR_OIDC_ISSUER (its
    # `iss`), for HR_OIDC_AUDIENCE (its `aud` for this service; unset: the namespace), naming the
    # person in HR_OIDC_PERSON_CLAIM (e.g. "sub" where the provider's subject is the employee id).
    # Keep the issuer and person claim while runs answered with its tokens are open.
    # The keys come from HR_OIDC_JWKS_FILE, else HR_OIDC_JWKS_URL, else the `jwks_uri` of the
    # issuer's discovery document (/.well-known/openid-configuration): fetched when a process
    # starts and again when a token names a key it does not hold (at most once every
    # HR_OIDC_JWKS_MIN_REFRESH_SECONDS), never inside workflow code (service/oidc.py).
    # HR_OIDC_CLIENT_ID (with HR_OIDC_CLIENT_SECRET for a confidential client) turns on the
    # sign-in itself: the web application's "sign in with the city's identity provider" and
    # `hr login --oidc` (authorization code with PKCE, state and nonce); the provider's ID token
    # is then for that client, so the audience defaults to it.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_file: str | None = None
    oidc_jwks_url: str | None = None
    oidc_jwks_min_refresh_seconds: float = 30.0
    oidc_person_claim: str = "employee_id"
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid profile"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then ``HR_*`` variables (of ``from_env``'s mapping when given)."""
        environ = _ENVIRON.get()
        if environ is not None:
            env_settings = _MappingEnvSource(settings_cls, environ)
        return init_settings, env_settings

    @field_validator("codec_key", "codec_auth_token", "auth_private_key", "oidc_client_secret", mode="before")
    @classmethod
    def _blank_secret_is_unset(cls, value: Any) -> Any:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and not text.strip():
            return None  # so that `settings.codec_key is None` (and falsy) means "no key"
        return value

    @field_validator("codec_key")
    @classmethod
    def _codec_key_is_a_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        from service.codec import key_from_env_value

        text = value.get_secret_value()
        key_from_env_value(text)  # raises with a message that does not quote the key
        return SecretStr(text.strip())

    @field_validator("demo_probation", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        """``30s``, ``2m``, ``1h``, ``10d``, ``1w`` or combined (``1h30m``); else pydantic's forms."""
        if isinstance(value, str):
            compact = value.strip().lower().replace(" ", "")
            parts = _DURATION.findall(compact)
            if parts and "".join(n + u for n, u in parts) == compact:
                return sum((timedelta(**{_UNITS[u]: float(n)}) for n, u in parts), timedelta())
        return value

    @field_validator("demo_probation")
    @classmethod
    def _demo_probation_in_range(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(days=730):
            raise ValueError("HR_DEMO_PROBATION must be between 1s and 730d, e.g. 2m")
        return value

    @field_validator("codec_key_id")
    @classmethod
    def _codec_key_id_is_plain(cls, value: str) -> str:
        value = value.strip()
        if not value or not value.isascii() or not value.isprintable():
            raise ValueError("HR_CODEC_KEY_ID must be a non-empty printable ASCII label, e.g. hr-1")
        return value

    @field_validator("codec_previous_keys", "temporal_api_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        return None if isinstance(text, str) and not text.strip() else value

    @field_validator("codec_previous_keys")
    @classmethod
    def _previous_keys_are_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        from service.codec import parse_previous_keys

        parse_previous_keys(value.get_secret_value())  # raises naming the key id, never the key
        return value

    @field_validator("sweep_schedule_date")
    @classmethod
    def _schedule_date(cls, value: str) -> str:
        from service.schedules import parse_month_day

        parse_month_day(value)
        return value.strip()

    @field_validator("sweep_schedule_time")
    @classmethod
    def _schedule_time(cls, value: str) -> str:
        from service.schedules import parse_hour_minute

        parse_hour_minute(value)
        return value.strip()

    @field_validator("sweep_schedule_timezone")
    @classmethod
    def _schedule_timezone(cls, value: str) -> str:
        from service.schedules import check_time_zone

        check_time_zone(value)
        return value.strip()

    @field_validator("sweep_older_than_years")
    @classmethod
    def _sweep_age(cls, value: int) -> int:
        if not 1 <= value <= 100:
            raise ValueError("HR_SWEEP_OLDER_THAN_YEARS must be between 1 and 100, e.g. 10")
        return value

    @field_validator("metrics_port")
    @classmethod
    def _metrics_port(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 65535:
            raise ValueError("HR_METRICS_PORT must be a port number (1-65535), e.g. 9464")
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Builds settings from ``HR_<FIELD>`` variables; unset ones keep their defaults.

        Args:
            environ: The variables to read; the process environment when None.

        Raises:
            SettingsError: ``invalid settings: HR_X: message; HR_Y: message``, never a value.
        """
        token = _ENVIRON.set(environ)
        try:
            return cls()
        except ValidationError as err:
            problems = "; ".join(_describe(e) for e in err.errors(include_input=False))
            raise SettingsError(f"invalid settings: {problems}") from None
        finally:
            _ENVIRON.reset(token)


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
