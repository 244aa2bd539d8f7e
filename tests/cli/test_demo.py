"""`takedown demo`, what `make demo` runs: the whole flow on local fakes, with or without Redis."""

from __future__ import annotations

import os
import subprocess

import pytest

from takedown.testing.processes import TAKEDOWN


def run_demo(broker_url: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TAKEDOWN_")}
    return subprocess.run(
        [str(TAKEDOWN), "demo"],
        capture_output=True,
        text=True,
        env=environment | {"TAKEDOWN_BROKER_URL": broker_url, "COLUMNS": "160"},
        timeout=120,
        check=False,
    )


def test_the_demo_runs_on_an_in_process_broker_when_redis_is_absent() -> None:
    result = run_demo("redis://127.0.0.1:1/0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broker          in-process (Redis is not reachable at redis://127.0.0.1:1/0)" in (
        result.stdout
    )
    assert "Clipshare was tried 3 times" in result.stdout
    assert "Demo finished: every request reached its platform or a caseworker." in result.stdout


@pytest.mark.usefixtures("redis_url")
def test_the_demo_uses_redis_when_it_answers(redis_url: str) -> None:
    result = run_demo(redis_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"broker          Redis at {redis_url}" in result.stdout
    assert "Demo finished" in result.stdout
