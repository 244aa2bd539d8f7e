"""The Celery settings the guarantees rest on, read from the app a worker runs."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from takedown.config import VISIBILITY_TIMEOUT_SECONDS, Settings
from takedown.worker.celery_app import QUEUES, create_app, queue_name

# The defaults are what is tested: not what a stack running in this session configured.
pytestmark = pytest.mark.usefixtures("unconfigured")


def test_no_task_can_outlive_the_visibility_timeout_or_the_sweepers_patience() -> None:
    settings = Settings()
    conf = create_app(settings).conf
    visibility = conf.broker_transport_options["visibility_timeout"]
    assert conf.task_soft_time_limit < conf.task_time_limit < visibility
    assert conf.task_time_limit < settings.sending_timeout_seconds


def test_a_message_is_acknowledged_only_after_its_task_and_survives_a_killed_process() -> None:
    conf = create_app(Settings()).conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is False
    assert conf.worker_prefetch_multiplier == 1


def test_messages_are_json_only() -> None:
    conf = create_app(Settings()).conf
    assert (conf.task_serializer, conf.result_serializer) == ("json", "json")
    assert list(conf.accept_content) == ["json"]


def test_each_kind_of_work_has_a_queue_of_its_own() -> None:
    settings = Settings(queue_prefix="p-")
    conf = create_app(settings).conf
    assert {queue.name for queue in conf.task_queues} == {f"p-{name}" for name in QUEUES}
    routes = {task: route["queue"] for task, route in conf.task_routes.items()}
    assert routes["takedown.tasks.deliver_request"] == queue_name(settings, "submissions")
    assert routes["takedown.tasks.check_batch"] == queue_name(settings, "checks")
    assert routes["takedown.tasks.send_notifications"] == queue_name(settings, "notifications")
    assert routes["takedown.tasks.sweep"] == queue_name(settings, "housekeeping")


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"task_time_limit_seconds": VISIBILITY_TIMEOUT_SECONDS}, "visibility timeout"),
        ({"task_time_limit_seconds": 60}, "longer than a web form may take (80 s"),
        ({"task_time_limit_seconds": 100, "sending_timeout_seconds": 100}, "(100 s)"),
    ],
)
def test_time_limits_that_do_not_nest_are_refused(
    variables: dict[str, float], message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Settings(**variables)  # type: ignore[arg-type]
