"""Real services for the tests: Redis, PostgreSQL, loopback fake platforms, an SMTP sink and
real Celery workers started as subprocesses (``takedown worker --beat``).

A service that cannot be found or started skips its tests with the reason on a laptop, and
fails them under ``CI=true``, where everything must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from takedown.config import Settings, get_settings
from takedown.safety.crypto import generate_key
from takedown.store.db import migrate
from takedown.testing.cases import seed
from takedown.testing.databases import ServerUnavailable, postgres_database
from takedown.testing.environment import QUICK, Configure, local_environment, overridden_environment
from takedown.testing.fake_platform import FakePlatform
from takedown.testing.loopback import free_port
from takedown.testing.processes import TakedownProcess, wait_until
from takedown.testing.services import unavailable
from takedown.testing.smtp_sink import SmtpSink
from takedown.testing.stack import Stack

REDIS_DB = 11  # the tests' own database number; nothing else on the machine uses it
POSTGRES_SERVER_URL = os.environ.get(
    "TAKEDOWN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# One key for the whole test session, inherited by the CLI and worker subprocesses; a test
# of missing or rotated keys sets its own.
TEST_SECRET_KEY = os.environ.setdefault("TAKEDOWN_SECRET_KEY", generate_key())


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
        wait_until(_pings(url), 10, "the Redis the tests started")
    redis.Redis.from_url(url).flushdb()
    yield url
    if started is not None:
        started.terminate()
        started.wait(10)


def _pings(url: str) -> Callable[[], bool]:
    def ping() -> bool:
        try:
            return bool(redis.Redis.from_url(url).ping())
        except redis.RedisError:
            return False

    return ping


# ---------------------------------------------------------------------------- databases


@contextmanager
def _postgres_database() -> Iterator[str]:
    """A PostgreSQL database of the test session's own, dropped afterwards."""
    try:
        with postgres_database(POSTGRES_SERVER_URL, prefix="takedown_test") as url:
            yield url
    except ServerUnavailable as error:
        unavailable(str(error))


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own (a test that breaks its database, or whose
    workers write to it at any moment)."""
    with _postgres_database() as url:
        yield url


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
    _configure(monkeypatch, TAKEDOWN_DATABASE_URL=url)
    migrate()
    return url


def _configure(monkeypatch: pytest.MonkeyPatch, **variables: str) -> Settings:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Configure:
    """Set TAKEDOWN_* variables for this test: ``configure(TAKEDOWN_X="1")`` returns the
    settings takedown now sees (and the variables are restored after the test)."""
    return lambda **variables: _configure(monkeypatch, **variables)


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
removed_when:
  - {means: gone, status: [404, 410]}
  - {means: gone, body_contains: ["This content is no longer available"]}
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
    # Escalates past its own inbox to the Digital Services Coordinator of the victim's country.
    "regulated": """
name: Regulated
domains: ["regulated.example"]
deadline_hours: 48
legal_bases: [dsa, terms]
channels:
  - type: email
    to: ncii@regulated.example
escalation:
  - dsa_coordinator: victims_country
""",
    # Takes part in StopNCII.org and Take It Down, as several real platforms do.
    "hashsite": """
name: Hashsite
domains: ["hashsite.example"]
deadline_hours: 48
hash_programmes: [stopncii, take_it_down]
channels:
  - type: email
    to: ncii@hashsite.example
""",
    # An EU notice goes to its DSA form (by hand), any other to its inbox.
    "routedsite": """
name: Routedsite
domains: ["routedsite.example"]
deadline_hours: 48
legal_bases: [dsa, terms]
unverified: ["The labels of the DSA form were not verified."]
channels:
  - type: manual
    for_bases: [dsa]
    url: https://routedsite.example/dsa
  - type: email
    for_bases: [terms]
    to: ncii@routedsite.example
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
    """The tests' settings: the fakes on loopback, with quick retries and time-outs."""
    return (
        local_environment(
            database_url=database_url,
            broker_url=broker_url,
            platforms_dir=platforms,
            secret_key=TEST_SECRET_KEY,
            queue_prefix=prefix,
            smtp_port=smtp_port,
        )
        | QUICK
    )


@pytest.fixture
def test_environment(platforms_dir: Path, smtp: SmtpSink) -> Callable[..., dict[str, str]]:
    """The tests' TAKEDOWN_* variables for a database, broker and queue prefix: for a
    `takedown` subprocess (which runs the CLI as a caseworker does) or a worker."""

    def variables(
        database_url: str, broker_url: str = "memory://", prefix: str = ""
    ) -> dict[str, str]:
        return base_environment(platforms_dir, smtp.port, database_url, broker_url, prefix)

    return variables


@pytest.fixture
def environment(
    database_url: str,
    platforms_dir: Path,
    smtp: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """Settings for plain-function tests: a fresh database, the fakes, no broker needed."""
    variables = base_environment(platforms_dir, smtp.port, database_url, "memory://", "")
    return _configure(monkeypatch, **variables)


# ---------------------------------------------------------------------------- workers


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
        with TakedownProcess.worker(log, *args, environment={**os.environ, **variables}):
            yield Stack(settings, site, smtp, log)


@pytest.fixture
def seeded_store(
    tmp_path: Path, test_environment: Callable[..., dict[str, str]]
) -> Iterator[dict[str, str]]:
    """A SQLite store of this test's own with a seeded case (takedown.testing.cases.seed), set
    for takedown with an unreachable broker: the ids of its case, a queued request and a
    request waiting for its abuse contact."""
    variables = test_environment(
        f"sqlite:///{tmp_path / 'seeded.db'}", "redis://127.0.0.1:1/0", "seeded-"
    )
    with overridden_environment(variables):
        seeded = seed(Path(variables["TAKEDOWN_PLATFORMS_DIR"]))
        yield {
            "case": seeded["case"],
            "request": seeded["requests"][0],
            "contact_request": seeded["awaiting"],
        }
