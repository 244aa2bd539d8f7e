"""``takedown worker``: a Celery worker, with the beat scheduler when asked."""

from __future__ import annotations

import click

from takedown.cli.context import current_settings
from takedown.cli.errors import user_errors
from takedown.store.db import prepare_store


@click.command("worker", help="Run a Celery worker (with the beat scheduler embedded when asked).")
@click.option("--beat", is_flag=True, help="Also run the beat scheduler (only ever one).")
@click.option("--concurrency", type=int, help="Worker processes or threads.")
@click.option("--pool", type=click.Choice(["prefork", "threads", "solo"]), default="prefork")
@click.option("--loglevel", default="INFO")
@user_errors
def worker(beat: bool, concurrency: int | None, pool: str, loglevel: str) -> None:
    from takedown.notices.samples import check_catalogue
    from takedown.worker.celery_app import QUEUES, app_for, queue_name

    settings = current_settings()
    # Refuse to start, in one line, without what every request needs: the organisation that
    # signs the notices, the key that opens the victims' data (and is the store's own), and
    # platform files that load.
    settings.require_notifier()
    prepare_store()
    check_catalogue(settings)
    app = app_for(settings)
    argv = ["worker", f"--loglevel={loglevel}", f"--pool={pool}"]
    argv.append("--queues=" + ",".join(queue_name(settings, q) for q in QUEUES))
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if beat:
        argv.append("--beat")
    app.worker_main(argv)
