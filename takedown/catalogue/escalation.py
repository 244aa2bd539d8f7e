"""Whom a platform's follow-ups go to, step by step (the rule that uses them is in
``takedown.monitoring.deadlines``): step 0 is the platform's own email channel, step k the
k-th target of its ``escalation`` list.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Step:
    number: int
    target: str  # who it is addressed to, in words: "the Fotogram trust and safety team"
    channel: EmailChannel


def next_step(platform: Platform, current: int | None) -> Step | None:
    """The first step after ``current`` that has somewhere to write to, if any is left."""
    after = -1 if current is None else current
    for number in range(after + 1, len(platform.escalation) + 1):
        target = target_for(platform, number)
        if target is not None:
            return Step(number, *target)
    return None
