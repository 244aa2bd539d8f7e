"""The web-form channel: an urlencoded POST to the platform's report form.

When the platform file names a ``form_url``, the form page is fetched first and its hidden
inputs (a CSRF token, a form id) are sent back with the same session's cookies.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from takedown.catalogue.schema import WebformChannel
from takedown.channels.base import Job, Outcome, Result, Sender
from takedown.safety.netguard import PrivateTargetError, never_sent, new_session, reason
from takedown.safety.redaction import excerpt
from takedown.safety.sandbox import render_fields


class _HiddenInputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "input" and (attributes.get("type") or "").lower() == "hidden":
            name = attributes.get("name")
            if name:
                self.values[name] = attributes.get("value") or ""


def hidden_inputs(html: str) -> dict[str, str]:
    parser = _HiddenInputs()
    parser.feed(html)
    return parser.values


def _is_connection_refused(error: BaseException) -> bool:
    return never_sent(error) and not isinstance(error, PrivateTargetError)


# A connection refused or a DNS hiccup is retried at once a couple of times: the notice
# cannot have arrived, so this never duplicates. Anything longer is the sweeper's job.
_retry_connect = retry(
    retry=retry_if_exception(_is_connection_refused),
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=0.2, max=1),
    reraise=True,
)


def retry_after_seconds(response: requests.Response) -> float | None:
    """The ``Retry-After`` header as seconds: a number, or an HTTP date."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class WebformSender(Sender):
    kind = "webform"

    def deliver(self, job: Job) -> Result:
        config: WebformChannel = job.channel_config
        fields = render_fields(config.fields, job.context, job.platform.id)
        timeout = (
            self.settings.http_connect_timeout_seconds,
            self.settings.http_read_timeout_seconds,
        )
        # Not closed after use: closing a session closes its adapter, which is the
        # connection pool the whole process shares (keep-alive, TLS sessions).
        session = new_session(self.settings.allow_private_targets)
        session.headers["User-Agent"] = "takedown (+removal requests for abuse victims)"
        payload: dict[str, str] = {}
        if config.form_url:
            form = self._fetch_form(session, job, config.form_url, timeout)
            if isinstance(form, Result):
                return form
            payload.update(form)
        payload.update(fields)
        return self._submit(session, job, config, payload, timeout)

    def _fetch_form(
        self, session: requests.Session, job: Job, url: str, timeout: tuple[float, float]
    ) -> dict[str, str] | Result:
        name = job.platform.name
        try:
            response = _retry_connect(session.get)(url, timeout=timeout)
        except PrivateTargetError as error:
            return Result(Outcome.PERMANENT, error=f"{name}'s form page was refused: {error}")
        except requests.RequestException as error:
            # Nothing has been submitted yet, so any failure here is safe to retry.
            return Result(
                Outcome.TRANSIENT,
                error=f"{name}'s form page could not be loaded: {reason(error)}",
            )
        if response.status_code != 200:
            return self._classify_refusal(job, response, f"{name}'s form page {url}")
        return hidden_inputs(response.text)

    def _submit(
        self,
        session: requests.Session,
        job: Job,
        config: WebformChannel,
        payload: dict[str, str],
        timeout: tuple[float, float],
    ) -> Result:
        name = job.platform.name
        try:
            # Redirects are not followed: every error after this answer must be told apart
            # from an error before it, or an accepted report would be sent again.
            response = _retry_connect(session.post)(
                config.submit_url, data=payload, timeout=timeout, allow_redirects=False
            )
        except PrivateTargetError as error:
            return Result(Outcome.PERMANENT, error=f"{name}'s form was refused: {error}")
        except requests.RequestException as error:
            if never_sent(error):
                return Result(
                    Outcome.TRANSIENT,
                    error=f"{name}'s form could not be reached: {reason(error)}",
                )
            # The request went out and no answer came back: the report may have arrived.
            return Result(
                Outcome.AMBIGUOUS,
                error=(
                    f"{name}'s form may have received the report but gave no answer "
                    f"({reason(error)}); check with {name} before sending again"
                ),
            )
        return self._judge(session, job, config, response, timeout)

    def _judge(
        self,
        session: requests.Session,
        job: Job,
        config: WebformChannel,
        response: requests.Response,
        timeout: tuple[float, float],
    ) -> Result:
        name = job.platform.name
        status = response.status_code
        if status not in config.success.status:
            if status < 400:
                # Not the answer we expect, but not a refusal either: the platform may well
                # have taken the report, so neither a retry nor a fallback channel is safe.
                return Result(
                    Outcome.AMBIGUOUS,
                    http_status=status,
                    excerpt=excerpt(response.text, job.sensitive),
                    error=(
                        f"{name} answered HTTP {status}, which its platform file does not "
                        f"list as success; check whether {name} received the report"
                    ),
                )
            return self._classify_refusal(job, response, f"{name}'s form")
        if response.is_redirect:
            # Accepted, with the confirmation (and the ticket) one redirect away.
            return self._confirmation(session, job, config, response, timeout)
        said = excerpt(response.text, job.sensitive)
        ticket = None
        if config.success.ticket_pattern:
            match = re.search(config.success.ticket_pattern, response.text)
            if match is None:
                return Result(
                    Outcome.AMBIGUOUS,
                    http_status=status,
                    excerpt=said,
                    error=(
                        f"{name} answered HTTP {status} but the page shows no "
                        f"report number; check whether {name} received the report"
                    ),
                )
            ticket = match.group(1)
        return Result(Outcome.DELIVERED, ticket=ticket, http_status=status, excerpt=said)

    def _confirmation(
        self,
        session: requests.Session,
        job: Job,
        config: WebformChannel,
        accepted: requests.Response,
        timeout: tuple[float, float],
    ) -> Result:
        """The report is delivered whatever happens here: reading the page only adds the
        ticket, so a failure costs the ticket, never a second report."""
        location = urljoin(config.submit_url, accepted.headers.get("Location", ""))
        try:
            page = session.get(location, timeout=timeout)
        except requests.RequestException as error:
            return Result(
                Outcome.DELIVERED,
                http_status=accepted.status_code,
                error=f"accepted; the confirmation page could not be read: {reason(error)}",
            )
        pattern = config.success.ticket_pattern
        match = re.search(pattern, page.text) if pattern else None
        return Result(
            Outcome.DELIVERED,
            ticket=match.group(1) if match else None,
            http_status=accepted.status_code,
            excerpt=excerpt(page.text, job.sensitive),
        )

    def _classify_refusal(self, job: Job, response: requests.Response, what: str) -> Result:
        status = response.status_code
        said = excerpt(response.text, job.sensitive)
        quoted = f": the page said '{said}'" if said else ""
        if status == 429 or status >= 500:
            return Result(
                Outcome.TRANSIENT,
                http_status=status,
                excerpt=said,
                retry_after=retry_after_seconds(response),
                error=f"{what} is unavailable or busy (HTTP {status}){quoted}",
            )
        return Result(
            Outcome.PERMANENT,
            http_status=status,
            excerpt=said,
            error=f"{what} refused the report (HTTP {status}){quoted}",
        )
