"""The manual channel: for platforms that only take a logged-in or CAPTCHA-protected form.

Nothing is sent. The caseworker gets a package to paste, and records the platform's ticket
with ``takedown mark-sent REQUEST_ID --ticket T`` once they have submitted it.
"""

from __future__ import annotations

from takedown.catalogue.schema import ManualChannel
from takedown.channels.base import Job, Outcome, Result, Sender
from takedown.safety.sandbox import render_fields


class ManualSender(Sender):
    kind = "manual"

    def deliver(self, job: Job) -> Result:
        config: ManualChannel = job.channel_config
        fields = render_fields(config.fields, job.context, job.platform.id)
        return Result(outcome=Outcome.MANUAL, package=build_package(job, config, fields))


def build_package(job: Job, config: ManualChannel, fields: dict[str, str]) -> str:
    lines = [
        f"Removal request {job.request_id} for {job.platform.name}",
        "",
        f"1. Open {config.url} (signed in with the organisation's account).",
    ]
    lines += [f"{n}. {step}" for n, step in enumerate(config.instructions, start=2)]
    step = len(config.instructions) + 2
    # A follow-up to a regulator goes to its own form: the platform file's doubts are not its.
    if job.platform.unverified and "target" not in job.context:
        lines += ["", f"Not verified in takedown's file for {job.platform.name}; check it here:"]
        lines += [f"   - {doubt}" for doubt in job.platform.unverified]
    if fields:
        lines += ["", f"{step}. Fill in the form:"]
        for name, value in fields.items():
            lines += [f"   {name}:", *(f"      {line}" for line in value.splitlines() or [""])]
        step += 1
    lines += [
        "",
        f"{step}. Where the form asks for details, paste this notice:",
        "",
        f"   Subject: {job.notice.subject}",
        "",
        *(f"   {line}" if line else "" for line in job.notice.body.splitlines()),
        "",
        f"{step + 1}. Submit, then record the platform's reference number:",
        f"   takedown mark-sent {job.request_id} --ticket REFERENCE",
    ]
    return "\n".join(lines) + "\n"
