"""What a test does when a real service it needs is missing."""

from __future__ import annotations

import os
from typing import NoReturn


def unavailable(reason: str) -> NoReturn:
    """Skip on a developer's machine; fail under CI=true, where every service must be there."""
    import pytest  # only ever called from the tests

    if os.environ.get("CI") == "true":
        pytest.fail(f"required service unavailable in CI: {reason}")
    pytest.skip(reason)
