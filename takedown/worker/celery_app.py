"""The Celery application: configuration only. Tasks live in ``takedown.worker.tasks``.

Each setting that protects a request from being lost or sent twice says why.
"""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_process_init
from kombu import Queue  # type: ignore[attr-defined]

from takedown.config import VISIBILITY_TIMEOUT_SECONDS, Settings, get_settings
from takedown.errors import ConfigError
from takedown.safety.redaction import install_log_redaction
from takedown.store.db import forget_inherited_connections

# The three of the design, so a slow platform never holds up a victim's notification, and
# one for the sweep, so that it never waits behind a backlog of deliveries it should manage.
QUEUES = ("submissions", "checks", "notifications", "housekeeping")

# The tasks' names travel in every broker message, so they stay as they were when the tasks
# lived in ``takedown.tasks``: a message published before an upgrade still finds its task.
DELIVER = "takedown.tasks.deliver_request"
SWEEP = "takedown.tasks.sweep"
NIGHTLY = "takedown.tasks.nightly"
CHECK_BATCH = "takedown.tasks.check_batch"
SEND_NOTIFICATIONS = "takedown.tasks.send_notifications"


def queue_name(settings: Settings, queue: str) -> str:
    return f"{settings.queue_prefix}{queue}"


def create_app(settings: Settings) -> Celery:
    app = Celery("takedown", broker=settings.broker_url, include=["takedown.worker.tasks"])
    nightly_hour, nightly_minute = (int(part) for part in settings.nightly_at.split(":"))
    submissions = queue_name(settings, "submissions")
    app.conf.update(
        # Messages carry request ids only, and JSON cannot smuggle objects in.
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        # Outcomes live in the database; no result backend to keep consistent.
        task_ignore_result=True,
        # Acknowledge after the task ran, so a worker that dies mid-task leaves its message
        # for another worker; the claim then stops a second send.
        task_acks_late=True,
        # A pool process killed mid-task (SIGKILL, the OOM killer) puts its message back at
        # once instead of dropping it as failed.
        task_reject_on_worker_lost=True,
        # One message at a time per process: a slow platform holds up one request, not ten.
        worker_prefetch_multiplier=1,
        # Longer than any task may run (the settings refuse a time limit that is not), or
        # Redis would hand a running task to a second worker.
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        # A send in progress when the broker connection drops finishes and records its
        # outcome; cancelled, it would leave a request that may have been sent. Its message
        # is not acknowledged, and the claim makes a later copy of it harmless.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        # On every task. The soft limit comes first, so a send cut short is recorded as
        # ambiguous by the task itself rather than left in `sending` for the sweeper.
        task_soft_time_limit=settings.task_time_limit_seconds * 5 / 6,
        task_time_limit=settings.task_time_limit_seconds,
        task_queues=[Queue(queue_name(settings, name)) for name in QUEUES],  # type: ignore[no-untyped-call]
        task_default_queue=submissions,
        task_routes={
            DELIVER: {"queue": submissions},
            SWEEP: {"queue": queue_name(settings, "housekeeping")},
            NIGHTLY: {"queue": queue_name(settings, "housekeeping")},
            CHECK_BATCH: {"queue": queue_name(settings, "checks")},
            SEND_NOTIFICATIONS: {"queue": queue_name(settings, "notifications")},
        },
        beat_schedule={
            "sweep": {
                "task": SWEEP,
                "schedule": settings.sweep_seconds,
                # A sweep that waited a whole interval is stale; the next one does its work.
                "options": {"expires": settings.sweep_seconds},
            },
            "nightly-checks": {
                "task": NIGHTLY,
                "schedule": crontab(hour=nightly_hour, minute=nightly_minute),
            },
        },
        # Beat reads TAKEDOWN_NIGHTLY_AT in the operator's time zone.
        timezone=settings.timezone,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


def _own_database_connections(**_: object) -> None:
    # The worker's main process migrated the database before forking its pool.
    forget_inherited_connections()


worker_process_init.connect(_own_database_connections, weak=False)
# Also when started as `celery -A takedown.worker.celery_app:app` rather than `takedown worker`.
install_log_redaction()


_apps: dict[tuple[str, str], Celery] = {}


def app_for(settings: Settings) -> Celery:
    """The one app of this process for a broker and queue prefix. Publishing goes through
    it explicitly: Celery's implicit default app would talk to amqp://localhost."""
    key = (settings.broker_url, settings.queue_prefix)
    if key not in _apps:
        _apps[key] = create_app(settings)
    return _apps[key]


def __getattr__(name: str) -> Celery:
    """``app``, for `celery -A takedown.worker.celery_app:app ...` (compose's beat and health
    checks). Built when first asked for, not at import: a command that imports this module
    must be able to refuse a bad setting in one line before any settings are read."""
    if name == "app":
        try:
            settings = get_settings()
        except ConfigError as error:
            # Celery would print the loader's traceback; a bad setting is one line here too.
            raise SystemExit(f"takedown: {error}") from None
        return app_for(settings)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
