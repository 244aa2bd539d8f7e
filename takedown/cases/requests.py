"""What a caseworker does to one request: find it, mark it sent, send it again, withdraw it,
change the law its notice invokes, confirm its abuse contact, and read its package and its
notice. Every one of these is audited with the acting person.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from takedown.cases.fields import clean_text
from takedown.catalogue.abuse_contact import ABUSE_CONTACT, contact_platform
from takedown.catalogue.bases import choose_basis, deadline_hours, facts_of
from takedown.catalogue.legal import legal_for
from takedown.catalogue.platforms import catalogue_for, platform_of
from takedown.catalogue.schema import Platform
from takedown.config import Settings
from takedown.contacts.abuse_contacts import confirm
from takedown.delivery.lifecycle import move, record_sent, requeue
from takedown.delivery.prepare import compose_for
from takedown.errors import Conflict, DataFileError, InputError, NotFound, RenderError
from takedown.messages import alerts
from takedown.messages.notifications import record_removals
from takedown.monitoring.recording import CASEWORKER, confirm_removal, reopen
from takedown.safety.safetext import line_problem, shown
from takedown.safety.sandbox import Rendered
from takedown.store.audit import record
from takedown.store.columns import utcnow
from takedown.store.db import find_by_id_prefix
from takedown.store.models import RemovalRequest
from takedown.store.states import DELIVERED, NOT_DELIVERED, LinkStatus, RequestState


def find_request(session: Session, request_id: str) -> RemovalRequest:
    """A request by its id or an unambiguous prefix of it (at least 6 characters)."""
    if line_problem(request_id):  # no id has one, and PostgreSQL refuses a NUL in a query
        raise NotFound(f"no removal request with the id {shown(request_id)}")
    request = session.get(RemovalRequest, request_id) or find_by_id_prefix(
        session, RemovalRequest, request_id
    )
    if request is not None:
        return request
    raise NotFound(f"no removal request with the id {shown(request_id)}")


@dataclass(frozen=True)
class Action:
    """Something a caseworker may do to a request, and from which states."""

    name: str  # "withdraw is only for requests that are ..."
    verb: str  # "... before you withdraw it"
    allowed: frozenset[RequestState]


# Never to a request a worker is sending right now: its outcome is about to be recorded, and
# acting on it could send it twice.
RETRY = Action("retry", "retry it", frozenset({RequestState.FAILED, RequestState.AMBIGUOUS}))
MARK_SENT = Action(
    "mark-sent",
    "mark it sent",
    frozenset({RequestState.AWAITING_CASEWORKER, RequestState.AMBIGUOUS, RequestState.FAILED}),
)
WITHDRAW = Action("withdraw", "withdraw it", NOT_DELIVERED)
CHANGE_BASIS = Action("changing the legal basis", "change its legal basis", NOT_DELIVERED)
CONFIRM_REMOVED = Action("mark-removed", "confirm its removal", DELIVERED)
CONFIRM_REAPPEARED = Action(
    "mark-reappeared", "say its content is back", frozenset({RequestState.REMOVED})
)


# How a caseworker knows the content is gone where a check cannot tell: a fixed list, so
# the audit log, which never holds a link or a name, records which one.
REMOVAL_EVIDENCE = {
    "platform-answered": "the platform answered that it removed the content",
    "seen-signed-in": "a caseworker saw, signed in to the platform, that it is gone",
}


def check_action(request: RemovalRequest, action: Action) -> None:
    if request.state in action.allowed:
        return
    if request.state == RequestState.SENDING:
        raise Conflict(
            f"request {request.id[:8]} is being sent right now; wait for the outcome "
            f"(takedown status) before you {action.verb}"
        )
    states = ", ".join(sorted(action.allowed))
    raise Conflict(
        f"request {request.id[:8]} is {request.state}; {action.name} is only for requests "
        f"that are {states}"
    )


def _audit(
    session: Session, request: RemovalRequest, action: str, actor: str, detail: str | None = None
) -> None:
    record(
        session,
        actor=actor,
        action=action,
        case_id=request.item.case_id,
        request_id=request.id,
        detail=detail,
    )


def mark_sent(
    session: Session,
    request: RemovalRequest,
    ticket: str | None,
    settings: Settings,
    *,
    actor: str,
) -> None:
    """A caseworker submitted the request by hand, or confirmed that an ambiguous one
    arrived: it is sent, and its deadline starts now, as for any request sent."""
    ticket = clean_text("ticket", ticket) if ticket is not None else None
    check_action(request, MARK_SENT)
    try:
        platform: Platform | None = platform_of(request, settings)
    except (DataFileError, Conflict):
        # The platform file was removed since, or a stored contact is broken: what the person
        # did is recorded all the same, with the deadline that can still be known.
        platform = contact_platform() if request.platform_id == ABUSE_CONTACT else None
    legal = legal_for(settings.legal_dir)
    hours = deadline_hours(request.legal_basis, platform, legal) if platform else None
    alerts.settle_for_request(session, request.id)
    record_sent(session, request, ticket, hours, "marked sent by caseworker")
    _audit(session, request, "marked sent", actor)


def confirm_removed(
    session: Session, request: RemovalRequest, evidence: str, *, actor: str
) -> None:
    """A caseworker confirms that a sent request's content is gone, where the checks cannot
    tell (a platform whose "not available" answer also stands for private or restricted
    content): its link is removed, the victim told, and the link still watched for
    reappearance like any other."""
    if evidence not in REMOVAL_EVIDENCE:
        known = ", ".join(REMOVAL_EVIDENCE)
        raise InputError(f"{shown(evidence)} is not one of: {known}", field="evidence")
    check_action(request, CONFIRM_REMOVED)
    item = request.item
    confirm_removal(
        session, item, utcnow(), f"removal confirmed by caseworker: {evidence}", by=CASEWORKER
    )
    alerts.settle_for_request(session, request.id)
    record_removals(session, [item.case_id])
    _audit(session, request, "removal confirmed", actor, evidence)


def confirm_reappeared(
    session: Session, request: RemovalRequest, settings: Settings, *, actor: str
) -> str | None:
    """A caseworker saw that removed content is back (where a check cannot tell it from a
    page shell): as when a check sees it, the victim is told and a new request queued. The
    id of the new request, if one could be queued."""
    check_action(request, CONFIRM_REAPPEARED)
    item = request.item
    if item.status != LinkStatus.REMOVED:
        raise Conflict(f"the link of request {request.id[:8]} is {item.status}, not removed")
    catalogue = catalogue_for(settings.platforms_dir)
    change = reopen(session, item, settings, catalogue, by_caseworker=True)
    alerts.settle_for_link(session, item.id)
    _audit(session, request, "reappearance confirmed", actor)
    return change.new_request_id


def retry_request(
    session: Session, request: RemovalRequest, settings: Settings, *, actor: str
) -> str:
    """Send a failed or ambiguous request again, from its platform's preferred channel; the
    kind of that channel."""
    check_action(request, RETRY)
    platform = platform_of(request, settings)
    alerts.settle_for_request(session, request.id)
    if request.escalation_step is not None:
        # A follow-up goes to its escalation target, whatever the platform's channels.
        requeue(session, request, platform, 0, "sent again by caseworker", channel=request.channel)
    else:
        first = _first_channel(request, platform, request.legal_basis)
        requeue(session, request, platform, first, "sent again by caseworker")
    _audit(session, request, "retried", actor)
    return request.channel


def _first_channel(request: RemovalRequest, platform: Platform, basis: str | None) -> int:
    case = request.item.case
    order = platform.channel_order(synthetic=case.synthetic, basis=basis, country=case.country)
    if not order:
        # The case's facts changed since it was queued (its country, say).
        raise Conflict(
            f"{platform.name} has no channel any more for request {request.id[:8]} under "
            f"{basis or 'terms'}; choose another basis first (takedown notice basis)"
        )
    return order[0]


def withdraw_request(session: Session, request: RemovalRequest, *, actor: str) -> None:
    check_action(request, WITHDRAW)
    alerts.settle_for_request(session, request.id)
    move(session, request, RequestState.WITHDRAWN, "withdrawn by caseworker")
    _audit(session, request, "withdrawn", actor)


def change_basis(
    session: Session, request: RemovalRequest, basis: str, settings: Settings, *, actor: str
) -> None:
    """The law a request's notice invokes, changed before it is sent; refused, with the
    reason, where the basis cannot be used for the case and the platform."""
    check_action(request, CHANGE_BASIS)
    if request.escalation_step is not None:
        raise Conflict(
            f"request {request.id[:8]} is a follow-up: it cites the first report, whose law "
            "it cannot change"
        )
    platform = platform_of(request, settings)
    choose_basis(facts_of(request.item.case), platform, legal_for(settings.legal_dir), basis)
    request.legal_basis = basis
    first = _first_channel(request, platform, basis)
    if request.state == RequestState.AWAITING_CASEWORKER and request.package:
        # The package holds the old notice, perhaps for another form: its alert is settled
        # and a new package prepared, so the old notice is never submitted.
        alerts.settle_for_request(session, request.id)
        requeue(session, request, platform, first, f"legal basis changed to {basis}")
    elif request.channel_index != first:
        # This platform takes notices under the new basis through another channel.
        request.channel_index = first
        request.channel = platform.channels[first].type
        request.channel_attempts = 0
    _audit(session, request, "basis changed", actor, basis)


def confirm_contact(
    session: Session, request: RemovalRequest, to: str | None, *, actor: str
) -> None:
    """The abuse address RDAP suggested (or ``to``, one the caseworker gives) is confirmed:
    the request may now be sent."""
    confirm(session, request, to)
    _audit(session, request, "contact confirmed", actor, "another address given" if to else None)


def package_of(session: Session, request: RemovalRequest, *, actor: str) -> str:
    """What to paste where a platform only takes a logged-in form."""
    if not request.package:
        raise Conflict(f"request {request.id[:8]} has no manual package")
    _audit(session, request, "package viewed", actor)
    return request.package


@dataclass(frozen=True)
class NoticePreview:
    basis: str
    basis_name: str
    # The basis takedown would choose now, and why better-ranked ones were passed over.
    chosen_now: str
    passed_over: list[str]
    notice: Rendered


def preview_notice(
    session: Session, request: RemovalRequest, settings: Settings, *, actor: str
) -> NoticePreview:
    """The request's notice exactly as it will be sent, checked against its legal basis."""
    platform = platform_of(request, settings)
    legal = legal_for(settings.legal_dir)
    basis = request.legal_basis or "terms"
    choice = choose_basis(facts_of(request.item.case), platform, legal)
    try:
        notice = compose_for(request, platform, settings).notice
    except (Conflict, RenderError, DataFileError) as error:
        raise type(error)(f"request {request.id[:8]}: {error.words()}") from None
    _audit(session, request, "notice viewed", actor)
    return NoticePreview(
        basis=basis,
        basis_name=legal.basis(basis).name,
        chosen_now=choice.basis,
        passed_over=choice.passed_over,
        notice=notice,
    )
