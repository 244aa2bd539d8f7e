"""Escalating a request whose deadline passed without removal.

Repeating the same notice does not help and can hurt, so escalation never resends it. It
sends one follow-up to the platform that cites the first report's ticket and deadline (step
0, when the platform takes email), then writes to the next target of the platform's
``escalation`` list (step k: its EU legal representative, its host, its regulator), one
step each time the previous one is past its own deadline. Each follow-up is a removal
request of its own, so it is claimed, retried and recorded like any other.
"""

from __future__ import annotations

from takedown.catalogue.schema import EmailChannel, Platform


def target_for(platform: Platform, step: int) -> tuple[str, EmailChannel] | None:
    """Who a follow-up at this step is addressed to, and how it reaches them."""
    if step == 0:
        own = [c for c in platform.channels if isinstance(c, EmailChannel)]
        return (f"the {platform.name} trust and safety team", own[0]) if own else None
    if step <= len(platform.escalation):
        target = platform.escalation[step - 1]
        return target.name, EmailChannel(type="email", to=target.to)
    return None


def next_step(platform: Platform, current: int | None) -> int | None:
    after = -1 if current is None else current
    for step in range(after + 1, len(platform.escalation) + 1):
        if target_for(platform, step) is not None:
            return step
    return None
