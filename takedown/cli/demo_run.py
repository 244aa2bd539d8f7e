"""The demo's flow: the whole of takedown on local fakes, with nothing contacted outside loopback.

It starts four fake platforms and a mail sink, opens one case with a handful of links,
queues the requests and runs a real Celery worker on them, showing progress as it happens:

- Fotogram: a web form with a CSRF token that answers with a report ID;
- Clipshare: a flaky intake that answers 503, then 429 with Retry-After, then accepts;
- Pixboard: takes reports by email (to the local SMTP sink);
- Chatter: only a logged-in form, so a caseworker gets a ready-to-paste package.

The broker is Redis when it answers at TAKEDOWN_BROKER_URL (on queues of the demo's own),
otherwise Celery's in-process memory transport.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker
from rich.console import Console
from rich.live import Live
from rich.table import Table

from takedown.cases.links import add_links
from takedown.cases.queueing import queue_case
from takedown.cases.service import find_case, open_case
from takedown.catalogue.legal import legal_for
from takedown.catalogue.platforms import catalogue_for
from takedown.cli.tables import status_view
from takedown.config import Settings, get_settings
from takedown.messages.notifications import send_due
from takedown.safety.crypto import generate_key
from takedown.store.db import migrate, session_scope
from takedown.store.read_models import CaseStatus
from takedown.store.states import AT_REST, RequestState
from takedown.testing.cases import VICTIM
from takedown.testing.environment import local_environment, overridden_environment
from takedown.testing.fake_platform import FakePlatform
from takedown.testing.loopback import Reply
from takedown.testing.smtp_sink import SmtpSink
from takedown.worker.celery_app import app_for
from takedown.worker.housekeeping import sweep
from takedown.worker.publish import publish, publish_now

LINKS = [
    "https://fotogram.example/p/8s7d6f",
    "https://www.fotogram.example/p/a1b2c3",
    "https://clipshare.example/v/99812",
    "https://pixboard.example/board/771/pin/3",
    "https://chatter.example/m/5512",
    "https://unknown-host.example/x.jpg",
]
TIMEOUT_SECONDS = 60
# Who the audit log says opened the demo's case.
DEMO_ACTOR = "demo"


def platform_files(directory: Path, site: FakePlatform) -> None:
    """Platform definitions pointing at the fakes (the shape of a real platforms/ file)."""
    files = {
        "fotogram": f"""
id: fotogram
name: Fotogram
domains: ["fotogram.example"]
deadline_hours: 48
channels:
  - type: webform
    form_url: {site.url("/fotogram/report")}
    submit_url: {site.url("/fotogram/report")}
    fields: {{url: "{{{{ item.url }}}}", email: "{{{{ notifier.email }}}}",
             details: "{{{{ notice.body }}}}"}}
    success: {{status: [200], ticket_pattern: "Report ID: ([A-Z0-9-]+)"}}
""",
        "clipshare": f"""
id: clipshare
name: Clipshare
domains: ["clipshare.example"]
deadline_hours: 48
channels:
  - type: webform
    submit_url: {site.url("/clipshare/intake")}
    fields: {{url: "{{{{ item.url }}}}", details: "{{{{ notice.body }}}}"}}
    success: {{status: [202], ticket_pattern: "ticket=([0-9]+)"}}
""",
        "pixboard": """
id: pixboard
name: Pixboard
domains: ["pixboard.example"]
deadline_hours: 72
channels:
  - type: email
    to: ncii@pixboard.example
""",
        "chatter": """
id: chatter
name: Chatter
domains: ["chatter.example"]
deadline_hours: 24
channels:
  - type: manual
    url: https://chatter.example/help/report
    instructions:
      - Choose "Report content", then "Intimate images shared without consent".
      - Pick "I am reporting on behalf of someone else".
    fields: {"Link to the content": "{{ item.url }}", "Your email": "{{ notifier.email }}"}
""",
    }
    # Where a real file cites the platform's help page and the laws it must honour.
    about = f"source: {site.url('/help')}\nchecked: 2026-11-22\nlegal_bases: [terms]\n"
    for name, text in files.items():
        (directory / f"{name}.yaml").write_text(text.lstrip() + about, encoding="utf-8")


def script_fakes(site: FakePlatform) -> None:
    site.csrf_form("/fotogram/report", ticket_prefix="FG")
    site.script(
        "/clipshare/intake",
        Reply(503, "<p>Service temporarily unavailable</p>"),
        Reply(429, "<p>Slow down</p>", {"Retry-After": "2"}),
        Reply(202, "<p>Received, ticket=554433</p>"),
    )


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.RedisError, ValueError):
        return False


@contextlib.contextmanager
def demo_environment(workdir: Path, smtp_port: int, broker_url: str) -> Iterator[Settings]:
    configured = local_environment(
        database_url=f"sqlite:///{workdir / 'demo.db'}",
        broker_url=broker_url,
        platforms_dir=workdir / "platforms",
        # The demo's database lives as long as the demo, and so does its key.
        secret_key=generate_key(),
        queue_prefix=f"takedown-demo-{os.getpid()}-",
        smtp_port=smtp_port,
        notifier=("Demo Helpline", "reports@helpline.example"),
    ) | {
        "TAKEDOWN_SMTP_TLS": "auto",
        "TAKEDOWN_RETRY_BASE_SECONDS": "1",
        "TAKEDOWN_SWEEP_SECONDS": "0.5",
    }
    with overridden_environment(configured) as settings:
        yield settings


def sweep_in_background(settings: Settings, stop: threading.Event) -> threading.Thread:
    """The beat scheduler's job, in a thread: the demo's worker is embedded, without beat."""

    def loop() -> None:
        while not stop.wait(settings.sweep_seconds):
            with session_scope() as session:
                due = sweep(session, settings).due
            publish(due)
            send_due(settings)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def open_demo_case(settings: Settings) -> tuple[str, list[str]]:
    catalogue = catalogue_for(settings.platforms_dir)
    with session_scope() as session:
        case = open_case(session, VICTIM, actor=DEMO_ACTOR)
        add_links(session, case, LINKS, catalogue, actor=DEMO_ACTOR)
        legal = legal_for(settings.legal_dir)
        queued = queue_case(session, case, catalogue, legal, actor=DEMO_ACTOR)
        return case.id, queued.request_ids


def all_at_rest(case_id: str) -> tuple[bool, CaseStatus]:
    # The demo's own live table: built from the rows, not read as a caseworker reads a case
    # (which the audit log records).
    with session_scope() as session:
        status = CaseStatus.of(find_case(session, case_id), kinds={})
    states = [request.state for item in status.items for request in item.requests]
    return all(state in AT_REST for state in states), status


def watch(console: Console, case_id: str) -> CaseStatus:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    done, status = all_at_rest(case_id)
    with Live(status_view(status), console=console, refresh_per_second=4) as live:
        while not done and time.monotonic() < deadline:
            time.sleep(0.25)
            done, status = all_at_rest(case_id)
            live.update(status_view(status))
    return status


def summary(console: Console, status: CaseStatus, sink: SmtpSink, site: FakePlatform) -> int:
    requests = [request for item in status.items for request in item.requests]
    console.print()
    table = Table(title="Summary", show_header=True)
    table.add_column("state")
    table.add_column("requests", justify="right")
    for state in sorted({r.state for r in requests}):
        table.add_row(state, str(sum(r.state == state for r in requests)))
    console.print(table)
    clip = site.requests_to("/clipshare/intake")
    if len(clip) >= 2:
        waits = ", ".join(f"{b.at - a.at:.1f}s" for a, b in itertools.pairwise(clip))
        console.print(
            f"Clipshare was tried {len(clip)} times (503, 429, accepted); waits: {waits}."
        )
    for delivered in sink.messages:
        message = delivered.message
        console.print(
            f"Mail sink received: To {message['To']}, Subject '{message['Subject']}', "
            f"Content-Language {message['Content-Language']}."
        )
    for request in requests:
        if request.state in (RequestState.FAILED, RequestState.AMBIGUOUS):
            console.print(f"[red]{request.platform}: {request.last_error}[/]")
    manual = [r for r in requests if r.state == RequestState.AWAITING_CASEWORKER]
    for request in manual:
        console.print(
            f"Chatter needs a caseworker: `takedown package {request.id[:8]}` shows what to paste."
        )
    console.print("One link matched no platform; it stays in the case for a caseworker to handle.")
    expected = {RequestState.SENT: 4, RequestState.AWAITING_CASEWORKER: 1}
    counts = {state: sum(r.state == state for r in requests) for state in expected}
    if counts != expected:
        console.print(f"[bold red]The demo did not finish as expected: {counts}[/]")
        return 1
    console.print(
        "[bold green]Demo finished: every request reached its platform or a caseworker.[/]"
    )
    return 0


def run_demo(console: Console) -> int:
    configured_broker = get_settings().broker_url
    use_redis = redis_answers(configured_broker)
    with (
        tempfile.TemporaryDirectory(prefix="takedown-demo-") as tmp,
        FakePlatform() as site,
        SmtpSink() as sink,
    ):
        workdir = Path(tmp)
        (workdir / "platforms").mkdir()
        platform_files(workdir / "platforms", site)
        script_fakes(site)
        broker_url = configured_broker if use_redis else "memory://localhost/"
        with demo_environment(workdir, sink.port, broker_url) as settings:
            broker = (
                f"Redis at {settings.broker_url}"
                if use_redis
                else f"in-process (Redis is not reachable at {configured_broker})"
            )
            console.print("[bold]takedown demo[/]: nothing leaves this machine.")
            console.print(f"  fake platforms  {site.base_url}", highlight=False)
            console.print(f"  mail sink       127.0.0.1:{sink.port}", highlight=False)
            console.print(f"  broker          {broker}", highlight=False)
            migrate()
            app: Celery = app_for(settings)
            app.set_current()
            app.set_default()
            case_id, request_ids = open_demo_case(settings)
            console.print(
                f"Opened a case with {len(LINKS)} links; queued {len(request_ids)} requests."
            )
            stop = threading.Event()
            with start_worker(
                app,
                pool="threads",
                concurrency=4,
                perform_ping_check=False,
                loglevel="WARNING",
                shutdown_timeout=10,
            ):
                publish_now(request_ids)
                sweeping = sweep_in_background(settings, stop)
                status = watch(console, case_id)
                stop.set()
                sweeping.join()
            return summary(console, status, sink, site)
