"""Settings from the environment (all prefixed ``TAKEDOWN_``), with safe defaults.

Safe means: nothing is sent to a real platform until an operator configures one, and
outbound requests to loopback or private addresses are refused unless explicitly allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import (
    DirectoryPath,
    Field,
    FilePath,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from takedown.errors import ConfigError
from takedown.safety.safetext import email_problem, line_problem, printable

PACKAGE_DIR = Path(__file__).resolve().parent


def bundled_dir(name: str) -> Path:
    """Where ``platforms/`` or ``templates/`` live: in a wheel they are copied into the
    package; in a checkout (editable install) they sit beside it."""
    inside_wheel = PACKAGE_DIR / "_bundled" / name
    return inside_wheel if inside_wheel.is_dir() else PACKAGE_DIR.parent / name


# Redis hands a message nobody acknowledged within this time to another worker, so every task
# must end well within it, or a task still running would start a second time elsewhere.
VISIBILITY_TIMEOUT_SECONDS = 3600


class SmtpTls(StrEnum):
    AUTO = "auto"  # STARTTLS when the server offers it
    STARTTLS = "starttls"  # STARTTLS or refuse to send
    SSL = "ssl"  # implicit TLS from the first byte (port 465)
    OFF = "off"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TAKEDOWN_", extra="ignore")

    database_url: str = "sqlite:///takedown.db"
    broker_url: str = "redis://127.0.0.1:6379/0"
    platforms_dir: DirectoryPath = Field(default_factory=lambda: bundled_dir("platforms"))
    templates_dir: DirectoryPath = Field(default_factory=lambda: bundled_dir("templates"))
    legal_dir: DirectoryPath = Field(default_factory=lambda: bundled_dir("legal"))

    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_tls: SmtpTls = SmtpTls.AUTO
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    # A CA bundle to trust besides the system's, for a relay with a private certificate.
    smtp_ca_file: FilePath | None = None

    # The organisation that signs every notice. Unset by default: nothing is queued or
    # sent until an operator says who is asking (see ``notifier_problem``).
    notifier_name: str = ""
    notifier_email: str = ""
    # Who signs TAKE IT DOWN and DMCA notices for the organisation ("/s/ <name>"); the
    # organisation's name when unset.
    signatory_name: str = ""
    # The organisation's trusted-flagger status under Article 22 DSA, in words ("designated
    # by Traficom, Finland, for illegal intimate imagery"); DSA notices then say so.
    trusted_flagger: str = ""
    # Where RDAP lookups of links on no known platform start (the IANA bootstrap files).
    rdap_bootstrap_url: str = "https://data.iana.org/rdap/"
    rdap_cache_hours: float = Field(default=24.0, ge=0)
    # Where caseworker alerts are emailed (a team inbox); unset, they are only listed by
    # `takedown alerts` and logged.
    caseworker_email: str | None = None

    allow_private_targets: bool = False
    # Fernet keys, comma-separated: the first encrypts, all decrypt (takedown.safety.crypto).
    secret_key: str = ""
    # Days a closed case is kept before the nightly job erases it (takedown.cases.erasure).
    retention_days: float = Field(default=180.0, gt=0)
    # Who is acting, for the audit log, where the OS login is a shared service account.
    actor: str = Field(default="", max_length=128)

    http_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    http_read_timeout_seconds: float = Field(default=30.0, gt=0)

    sweep_seconds: float = Field(default=60.0, gt=0)
    retry_base_seconds: float = Field(default=60.0, gt=0)
    retry_max_seconds: float = Field(default=6 * 3600.0, gt=0)
    max_attempts: int = Field(default=6, ge=1)
    # A queued request whose message has not been picked up after this long is enqueued
    # again; the claim makes the duplicate message harmless.
    redeliver_after_seconds: float = Field(default=300.0, gt=0)
    # The hard limit on one Celery task. A web form waits at most the connect and read
    # time-outs twice (the form page, then the submission); the default leaves ample room.
    task_time_limit_seconds: float = Field(default=360.0, gt=0)
    # The worker sending a request renews its lease on it every third of this; a request
    # whose lease lapsed belonged to a worker that died mid-send: it may have reached the
    # platform, so the next sweep makes it `ambiguous` for a human (takedown.delivery.lease).
    sender_lease_seconds: float = Field(default=20.0, gt=0)
    # The backstop: a request still `sending` after this long is ambiguous even if its worker
    # is still heard from (a send that hangs past every time limit).
    sending_timeout_seconds: float = Field(default=900.0, gt=0)

    # Put before every queue's name, for several deployments on one broker.
    queue_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$", max_length=64)

    # A link seen gone is checked again this much later before anyone is told: platforms
    # sometimes answer 404 for a while (a moderation hold, a cache) and then restore.
    removal_confirm_seconds: float = Field(default=4 * 3600.0, ge=0)
    # Removed links keep being visited this long, in case the content is uploaded again.
    reappearance_watch_days: float = Field(default=30.0, ge=0)
    # A page is read only as far as needed to find a "no longer available" phrase.
    check_max_body_bytes: int = Field(default=256 * 1024, gt=0)

    # The nightly check of every watched link, at this time in the operator's time zone.
    nightly_at: str = Field(default="02:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    timezone: str = "UTC"
    check_batch_size: int = Field(default=200, gt=0)
    check_parallel: int = Field(default=16, gt=0)
    # Toward one host, across all workers: on average this many visits a second, at most
    # this many at once (platforms rate-limit crawlers, and we must not look like one).
    host_rate_per_second: float = Field(default=2.0, gt=0)
    host_burst: int = Field(default=4, gt=0)
    host_max_in_flight: int = Field(default=2, gt=0)

    # At most one progress email per victim this often; "everything removed" goes at once.
    notify_min_interval_seconds: float = Field(default=12 * 3600.0, ge=0)

    @field_validator("database_url")
    @classmethod
    def _a_database_sqlalchemy_knows(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            url = make_url(value)
            url.get_dialect()
        except NoSuchModuleError:  # before ArgumentError, which it subclasses
            raise ValueError(
                f"unknown database kind in {value.split('://')[0]}://; use sqlite:/// or "
                "postgresql+psycopg://"
            ) from None
        except ArgumentError:
            raise ValueError(
                "not a database URL; use sqlite:///takedown.db or "
                "postgresql+psycopg://user:password@host/database"
            ) from None
        if url.get_backend_name() == "sqlite" and _in_memory(url.database, url.query):
            raise ValueError(
                "an in-memory SQLite database keeps nothing once the command ends; give a "
                "file, such as sqlite:///takedown.db"
            )
        return value

    @field_validator("broker_url")
    @classmethod
    def _a_broker_celery_knows(cls, value: str) -> str:
        from kombu.transport import resolve_transport

        scheme = value.split("://", 1)[0]
        try:
            resolve_transport(scheme)
        except (KeyError, ImportError, ValueError):  # "0." is taken for a module path
            raise ValueError(
                f"unknown broker kind {printable(scheme, limit=40)}://; use redis://host:6379/0"
            ) from None
        return value

    @field_validator("caseworker_email", mode="before")
    @classmethod
    def _empty_means_unset(cls, value: object) -> object:
        # compose.yaml passes optional settings as empty strings.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "notifier_name",
        "signatory_name",
        "trusted_flagger",
        "actor",
        "smtp_host",
        "smtp_username",
        "smtp_password",
    )
    @classmethod
    def _one_line(cls, value: str) -> str:
        # Names sign every notice and go into the From header of every email; the actor is a
        # line of the audit log; the SMTP values go into the SMTP dialogue, line by line.
        problem = line_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("notifier_email", "caseworker_email")
    @classmethod
    def _an_email_address(cls, value: str | None) -> str | None:
        if not value:  # unset: notifier_problem() says what that means
            return value
        problem = email_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("secret_key")
    @classmethod
    def _fernet_keys(cls, value: str) -> str:
        # Unset is refused where a key is needed (takedown.store.encryption), not here:
        # `platforms check` and `keys generate` need none.
        if value.strip():
            from takedown.safety.crypto import SETTING, keyring_from

            try:
                keyring_from(value)
            except ConfigError as error:
                raise ValueError(str(error).removeprefix(f"{SETTING}: ")) from None
        return value

    @field_validator("rdap_bootstrap_url")
    @classmethod
    def _a_web_address(cls, value: str) -> str:
        if line_problem(value) or not value.startswith(("https://", "http://")):
            raise ValueError("must be a web address starting with https://")
        return value

    @field_validator("timezone")
    @classmethod
    def _a_known_time_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone such as Europe/Helsinki") from None
        return value

    @model_validator(mode="after")
    def _time_limits_nest(self) -> Settings:
        # Each limit must outlast the one inside it: a send within a task, a task within the
        # broker's visibility timeout, and the task within the time after which the sweeper
        # calls a request stuck.
        limit = self.task_time_limit_seconds
        one_send = 2 * (self.http_connect_timeout_seconds + self.http_read_timeout_seconds)
        if limit <= one_send:
            raise ValueError(
                f"TAKEDOWN_TASK_TIME_LIMIT_SECONDS ({limit:g} s) must be longer than a web form "
                f"may take ({one_send:g} s: TAKEDOWN_HTTP_CONNECT_TIMEOUT_SECONDS and "
                "TAKEDOWN_HTTP_READ_TIMEOUT_SECONDS, twice), or sends would be cut short"
            )
        if limit >= VISIBILITY_TIMEOUT_SECONDS:
            raise ValueError(
                f"TAKEDOWN_TASK_TIME_LIMIT_SECONDS must be shorter than the broker's visibility "
                f"timeout ({VISIBILITY_TIMEOUT_SECONDS} s), or a task still running would be "
                "handed to a second worker"
            )
        if self.sending_timeout_seconds <= limit:
            raise ValueError(
                f"TAKEDOWN_SENDING_TIMEOUT_SECONDS ({self.sending_timeout_seconds:g} s) must be "
                f"longer than a task may run (TAKEDOWN_TASK_TIME_LIMIT_SECONDS, {limit:g} s), or "
                "a request still being sent would be flagged as stuck"
            )
        return self

    def require_notifier(self) -> None:
        """Refuse, naming the settings, what cannot be done before a notifier is configured."""
        problem = self.notifier_problem()
        if problem:
            raise ConfigError(problem)

    def notifier_problem(self) -> str | None:
        """Why notices cannot be signed yet, or None when they can."""
        if not self.notifier_name.strip() or "@" not in self.notifier_email:
            return (
                "TAKEDOWN_NOTIFIER_NAME and TAKEDOWN_NOTIFIER_EMAIL must be set: every notice "
                "is signed by the organisation, and nothing is sent until it is configured"
            )
        return None


def _in_memory(database: str | None, query: Mapping[str, object]) -> bool:
    # sqlite://, sqlite:///:memory:, and the URI forms (file::memory:, file:x?mode=memory).
    name = database or ""
    return name in ("", ":memory:") or ":memory:" in name or query.get("mode") == "memory"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of the environment; a ``ConfigError`` naming the variable when one of
    them cannot be used."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError(_first_problem(error)) from None


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    # One line, whatever the message quotes of the value (a pasted line break, say).
    message = printable(str(first["msg"]).removeprefix("Value error, "))
    if not first["loc"]:  # a rule across settings names its variables itself
        return message
    name = "TAKEDOWN_" + "_".join(str(part) for part in first["loc"]).upper()
    return f"{name}: {message}"
