"""Platform files for the tests: one every check accepts, to be broken a piece at a time."""

from __future__ import annotations

from pathlib import Path

# A web form with a CSRF page, then an email address: every part of the schema a file
# commonly uses, each valid.
VALID_PLATFORM_FILE = """\
id: fotogram
name: Fotogram
domains: ["fotogram.com"]
deadline_hours: 48
channels:
  - type: webform
    form_url: https://fotogram.com/report
    submit_url: https://fotogram.com/report
    fields:
      url: "{{ item.url }}"
      email: "{{ notifier.email }}"
      details: "{{ notice.body }}"
    success: {status: [200], ticket_pattern: "Report ID: ([A-Z0-9-]+)"}
  - type: email
    to: ncii@fotogram.com
removed_when:
  - {means: gone, status: [404, 410]}
  - {means: gone, body_contains: ["This content is no longer available"]}
"""


def write_platform_file(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path
