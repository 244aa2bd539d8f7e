"""Real services for the tests: Redis, PostgreSQL, loopback fake platforms, an SMTP sink and
real Celery workers started as subprocesses (``takedown worker --beat``).

A service that cannot be found or started skips its tests with the reason on a laptop, and
fails them under ``CI=true``, where everything must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import sqlalchemy

from takedown.config import Settings, get_settings
from takedown.safety.crypto import generate_key
from takedown.store.db import migrate
from takedown.testing.environment import overridden_environment
from takedown.testing.fake_platform import FakePlatform
from takedown.testing.loopback import free_port
from takedown.testing.smtp_sink import SmtpSink

REDIS_DB = 11  # the tests' own database number; nothing else on the machine uses it
POSTGRES_ADMIN_URL = os.environ.get(
    "TAKEDOWN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
VENV_BIN = Path(sys.executable).parent
# One key for the whole test session, inherited by the CLI and worker subprocesses; a test
# of missing or rotated keys sets its own.
TEST_SECRET_KEY = os.environ.setdefault("TAKEDOWN_SECRET_KEY", generate_key())


def unavailable(reason: str) -> None:
    """Skip on a developer's machine; fail in CI, where every service must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"required service unavailable in CI: {reason}")
    pytest.skip(reason)


# ---------------------------------------------------------------------------- Redis


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    started: subprocess.Popen[bytes] | None = None
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("Redis is not running at 127.0.0.1:6379 and redis-server is not installed")
        port = free_port()
        started = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/{REDIS_DB}"
        _wait_for(lambda: redis.Redis.from_url(url).ping(), "the Redis the tests started")
    redis.Redis.from_url(url).flushdb()
    yield url
    if started is not None:
        started.terminate()
        started.wait(10)


def _wait_for(probe: object, what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if probe():  # type: ignore[operator]
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not come up in {seconds} s")
        time.sleep(0.1)


# ---------------------------------------------------------------------------- databases


@contextmanager
def _postgres_database() -> Iterator[str]:
    """A PostgreSQL database of the test session's own, dropped afterwards."""
    admin = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"takedown_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sqlalchemy.exc.OperationalError as error:
        admin.dispose()
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error.orig}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from takedown.store.db import engine_for

        engine_for(url).dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The database of plain-function tests. Only the test itself writes to it."""
    with _postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def stack_postgres_url() -> Iterator[str]:
    """The running stack's own database: its worker and beat write to it at any moment, so
    plain-function tests must never share it (a sweep could bump a row under a test)."""
    with _postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A migrated database, once on SQLite and once on PostgreSQL, set for takedown."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'takedown.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    configure(monkeypatch, TAKEDOWN_DATABASE_URL=url)
    migrate()
    return url


def configure(monkeypatch: pytest.MonkeyPatch, **variables: str) -> Settings:
    """Set TAKEDOWN_* variables for this test and return the settings takedown now sees."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    monkeypatch.setattr("takedown.config.get_settings", get_settings)
    return get_settings()


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TAKEDOWN_* variable set, as on an operator's fresh install: a session-scoped stack
    keeps its own in the environment while it runs."""
    for name in [name for name in os.environ if name.startswith("TAKEDOWN_")]:
        monkeypatch.delenv(name)
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


# ---------------------------------------------------------------------------- fakes

# One fake platform per scenario, each on its own path, so that scripted replies of one
# test never answer another's requests.
TEST_PLATFORMS = {
    "formsite": """
name: Formsite
domains: ["formsite.example"]
deadline_hours: 48
channels:
  - type: webform
    form_url: SITE/formsite/report
    submit_url: SITE/formsite/report
    fields: {url: "{{ item.url }}", email: "{{ notifier.email }}", details: "{{ notice.body }}"}
    success: {status: [200], ticket_pattern: "Report ID: ([A-Z0-9-]+)"}
""",
    "mailsite": """
name: Mailsite
domains: ["mailsite.example"]
deadline_hours: 72
channels:
  - type: email
    to: ncii@mailsite.example
""",
    "handsite": """
name: Handsite
domains: ["handsite.example"]
deadline_hours: 24
channels:
  - type: manual
    url: https://handsite.example/help/report
    instructions: ["Choose 'Report', then 'Intimate image shared without consent'."]
    fields: {"Link": "{{ item.url }}"}
""",
    "fallbacksite": """
name: Fallbacksite
domains: ["fallbacksite.example"]
deadline_hours: 48
channels:
  - type: webform
    submit_url: SITE/fallbacksite/intake
    fields: {url: "{{ item.url }}"}
  - type: email
    to: abuse@fallbacksite.example
""",
    # Its links are pages of the fake itself, so status checks have something to visit.
    "checksite": """
name: Checksite
domains: ["127.0.0.1"]
deadline_hours: 48
channels:
  - type: email
    to: ncii@checksite.example
removed_when: {status: [404, 410], body_contains: ["This content is no longer available"]}
""",
    "lawsite": """
name: Lawsite
domains: ["lawsite.example"]
deadline_hours: 72
legal_bases: [dsa, take_it_down, dmca, terms]
channels:
  - type: email
    to: legal@lawsite.example
""",
    "escalating": """
name: Escalating
domains: ["escalating.example"]
deadline_hours: 48
channels:
  - type: webform
    submit_url: SITE/escalating/intake
    fields: {url: "{{ item.url }}"}
  - type: email
    to: ncii@escalating.example
escalation:
  - {name: "the EU legal representative of Escalating", to: "legal@representative.example"}
""",
    "brokenmail": """
name: Brokenmail
domains: ["brokenmail.example"]
deadline_hours: 48
channels:
  - type: email
    to: ncii@brokenmail.example
""",
}
# Intake forms whose replies each test scripts for itself, at SITE/<name>/intake.
SCRIPTED_INTAKE = """
name: NAME
domains: ["NAME.example"]
deadline_hours: 48
channels:
  - type: webform
    submit_url: SITE/NAME/intake
    fields: {url: "{{ item.url }}", details: "{{ notice.body }}"}
    success: {status: [200, 202], ticket_pattern: "ticket=([0-9A-Z-]+)"}
"""
TEST_PLATFORMS["redirecting"] = (
    SCRIPTED_INTAKE.replace("name: NAME", "name: Redirecting")
    .replace("NAME", "redirecting")
    .replace("status: [200, 202]", "status: [200, 303]")
)
for _name in ("flaky", "ratelimited", "refusing", "slow", "untracked", "racy", "lost"):
    TEST_PLATFORMS[_name] = SCRIPTED_INTAKE.replace(
        "name: NAME", f"name: {_name.capitalize()}"
    ).replace("NAME", _name)


@pytest.fixture(scope="session")
def site() -> Iterator[FakePlatform]:
    with FakePlatform() as fake:
        fake.csrf_form("/formsite/report", ticket_prefix="FS")
        yield fake


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def platforms_dir(site: FakePlatform) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="takedown-platforms-") as tmp:
        directory = Path(tmp)
        for name, body in TEST_PLATFORMS.items():
            text = f"id: {name}\n" + body.replace("SITE", site.base_url).lstrip()
            if "legal_bases:" not in text:
                text += "legal_bases: [terms]\n"
            text += f"source: {site.base_url}/{name}/help\nchecked: 2026-11-22\n"
            (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
        yield directory


def base_environment(
    platforms: Path, smtp_port: int, database_url: str, broker_url: str, prefix: str
) -> dict[str, str]:
    return {
        "TAKEDOWN_DATABASE_URL": database_url,
        "TAKEDOWN_BROKER_URL": broker_url,
        "TAKEDOWN_QUEUE_PREFIX": prefix,
        "TAKEDOWN_PLATFORMS_DIR": str(platforms),
        "TAKEDOWN_SMTP_HOST": "127.0.0.1",
        "TAKEDOWN_SMTP_PORT": str(smtp_port),
        "TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1",
        "TAKEDOWN_SECRET_KEY": TEST_SECRET_KEY,
        "TAKEDOWN_NOTIFIER_NAME": "Test Helpline",
        "TAKEDOWN_NOTIFIER_EMAIL": "reports@helpline.example",
        "TAKEDOWN_RETRY_BASE_SECONDS": "0.3",
        "TAKEDOWN_MAX_ATTEMPTS": "3",
        "TAKEDOWN_SWEEP_SECONDS": "0.5",
        "TAKEDOWN_REDELIVER_AFTER_SECONDS": "2",
        "TAKEDOWN_HTTP_READ_TIMEOUT_SECONDS": "1",
        "TAKEDOWN_HTTP_CONNECT_TIMEOUT_SECONDS": "2",
        # No real registry is ever asked: RDAP goes to a closed port unless a test serves it.
        "TAKEDOWN_RDAP_BOOTSTRAP_URL": "http://127.0.0.1:9/",
    }


@pytest.fixture
def environment(
    database_url: str,
    platforms_dir: Path,
    smtp: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """Settings for plain-function tests: a fresh database, the fakes, no broker needed."""
    variables = base_environment(platforms_dir, smtp.port, database_url, "memory://", "")
    return configure(monkeypatch, **variables)


# ---------------------------------------------------------------------------- workers


@contextmanager
def running_worker(
    args: list[str], variables: dict[str, str], workdir: Path, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A `takedown worker` subprocess with these settings, ready (it said so in its log)
    when the block starts, and stopped when it ends."""
    with log.open("wb") as sink:
        worker = subprocess.Popen(
            [str(VENV_BIN / "takedown"), "worker", *args],
            cwd=workdir,
            env={**os.environ, **variables},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: b" ready." in log.read_bytes(), "the worker", seconds=30)
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()


@dataclass
class Stack:
    """A running takedown: database, Redis, a worker with beat, and the fakes it talks to."""

    settings: Settings
    site: FakePlatform
    smtp: SmtpSink
    log: Path


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest,
    redis_url: str,
    platforms_dir: Path,
    site: FakePlatform,
    smtp: SmtpSink,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp(f"stack-{request.param}")
    if request.param == "sqlite":
        database = f"sqlite:///{workdir / 'takedown.db'}"
    else:
        database = request.getfixturevalue("stack_postgres_url")
    # SQLite runs the threads pool; PostgreSQL the prefork pool, as in production, so that
    # forked pool processes are exercised too.
    pool = ["--pool", "threads", "--concurrency", "4"]
    if request.param == "postgresql":
        pool = ["--pool", "prefork", "--concurrency", "2"]
    prefix = f"takedown-test-{uuid.uuid4().hex[:8]}-"
    variables = base_environment(platforms_dir, smtp.port, database, redis_url, prefix)
    variables["TAKEDOWN_CASEWORKER_EMAIL"] = f"caseworkers-{request.param}@helpline.example"
    with overridden_environment(variables) as settings:
        migrate()
        log = workdir / "worker.log"
        # The beat schedule file lands in the working directory.
        args = ["--beat", "--loglevel", "INFO", *pool]
        with running_worker(args, variables, workdir, log):
            yield Stack(settings, site, smtp, log)
