"""Privacy: identity and links encrypted at rest, keys rotated, cases erased, actions audited,
and nothing identifying in the broker or the logs."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text

from takedown.cases import erasure
from takedown.cases.links import add_links
from takedown.cases.queueing import queue_case
from takedown.cases.service import find_case
from takedown.catalogue.platforms import catalogue_for
from takedown.cli import main
from takedown.config import Settings, get_settings
from takedown.delivery.deliver import deliver
from takedown.errors import ConfigError, Conflict
from takedown.messages.notifications import record_event
from takedown.monitoring.deadlines import mark_overdue
from takedown.monitoring.visits import items_to_check
from takedown.safety.crypto import generate_key, keyring_from
from takedown.safety.redaction import install_log_redaction
from takedown.store.columns import utcnow
from takedown.store.db import get_engine, migrate, prepare_store, session_scope
from takedown.store.encryption import keyring
from takedown.store.models import (
    Alert,
    Attempt,
    AuditEvent,
    Base,
    Case,
    Check,
    ContactLookup,
    Item,
    Notification,
    RemovalRequest,
    Transition,
)
from takedown.store.rekey import rotate
from takedown.store.states import LinkStatus, RequestState
from takedown.testing.cases import TEST_ACTOR, open_test_case, wait_at_rest
from takedown.testing.environment import Configure
from takedown.testing.fake_platform import FakePlatform
from takedown.testing.loopback import Reply
from takedown.testing.stack import Stack
from takedown.worker import tasks
from takedown.worker.publish import publish_now

NAME, EMAIL, PHONE = "Aino Virtanen", "aino.virtanen@example.org", "+358 40 123 4567"
NOTES = "Ex-partner threatened to post more"
LINKS = ["https://formsite.example/p/secret-1", "https://mailsite.example/p/secret-2"]
IDENTIFYING = [NAME, EMAIL, PHONE, NOTES, *LINKS, "secret-1", "secret-2"]


@pytest.fixture
def own_database(
    environment: Settings,  # noqa: ARG001 (the fakes' settings, which this test keeps)
    database_url: str,
    configure: Configure,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Settings]:
    """A new, empty database of this test's own (not migrated), of the same kind: for tests
    that rewrite every row, which the shared PostgreSQL database of plain tests must not see."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'own.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    yield configure(TAKEDOWN_DATABASE_URL=url)
    get_engine().dispose()


def open_full_case(settings: Settings) -> str:
    with session_scope() as session:
        case = open_test_case(session, victim_name=NAME, victim_email=EMAIL)
        case.victim_phone, case.notes = PHONE, NOTES
        add_links(session, case, LINKS, catalogue_for(settings.platforms_dir), actor=TEST_ACTOR)
        return case.id


def raw_rows(settings: Settings) -> str:
    """Every row of every table as the database holds it, as a dump would show it."""
    engine = create_engine(settings.database_url)
    dumped = []
    with engine.connect() as connection:
        for table in (table.name for table in Base.metadata.sorted_tables):
            for row in connection.execute(text(f"SELECT * FROM {table}")):  # noqa: S608
                dumped.append(repr(tuple(row)))
    engine.dispose()
    return "\n".join(dumped)


def test_identity_notes_and_links_are_stored_encrypted_and_read_back_in_clear(
    environment: Settings,
) -> None:
    case_id = open_full_case(environment)
    dump = raw_rows(environment)
    assert "TD-" in dump  # the dump is real: the case reference is there in clear
    for value in IDENTIFYING:
        assert value not in dump
    with session_scope() as session:
        case = find_case(session, case_id)
        assert (case.victim_name, case.victim_email, case.victim_phone, case.notes) == (
            NAME,
            EMAIL,
            PHONE,
            NOTES,
        )
        assert [item.url for item in case.items] == LINKS


def test_a_copy_of_the_sqlite_file_shows_no_name_email_phone_or_link(
    environment: Settings, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the file copy is SQLite's; PostgreSQL's rows are read in the test above")
    open_full_case(environment)
    get_engine().dispose()  # checkpoint the write-ahead log into the file
    path = Path(database_url.removeprefix("sqlite:///"))
    copy = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert b"TD-" in copy
    for value in IDENTIFYING:
        assert value.encode() not in copy


def test_links_are_found_again_by_a_keyed_hash_not_a_plain_one(environment: Settings) -> None:
    case_id = open_full_case(environment)
    with session_scope() as session:
        case = find_case(session, case_id)
        again = add_links(
            session, case, [LINKS[0]], catalogue_for(environment.platforms_dir), actor=TEST_ACTOR
        )
        assert again.already_there == [LINKS[0]]
        stored = session.scalar(select(Item.url_hash).where(Item.case_id == case_id))
    plain = {hashlib.sha256(link.encode()).hexdigest() for link in LINKS}
    assert stored is not None
    assert stored not in plain
    assert stored in {keyring().link_hash(link) for link in LINKS}


@pytest.mark.usefixtures("environment")
def test_without_a_key_nothing_is_stored_and_the_error_says_what_to_set(
    configure: Configure, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope() as session:
        before = session.scalar(select(func.count()).select_from(Case))
    the_right_key = get_settings().secret_key
    new_case = ["case", "new", "--victim-name", NAME, "--victim-email", EMAIL, "--language", "fi"]
    for secret, message in [
        ("", "Error: TAKEDOWN_SECRET_KEY is not set; generate a key with `takedown keys generate`"),
        (f"{generate_key()},not-a-key", "Error: TAKEDOWN_SECRET_KEY: key 2 is not a Fernet key"),
        # A key, but not this database's: what it stored could never be read back.
        (generate_key(), "Error: TAKEDOWN_SECRET_KEY: the first key is not a key of this database"),
        (
            f"{generate_key()},{the_right_key}",
            "Error: TAKEDOWN_SECRET_KEY: the first key is not yet a key of this database",
        ),
    ]:
        # Set, not read: a malformed key is refused as soon as the settings are read.
        monkeypatch.setenv("TAKEDOWN_SECRET_KEY", secret)
        get_settings.cache_clear()
        result = CliRunner().invoke(main, new_case)
        assert result.exit_code == 1
        assert result.output.startswith(message)
        assert len(result.output.strip().splitlines()) == 1
    configure(TAKEDOWN_SECRET_KEY=the_right_key)
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == before


def test_rotation_re_encrypts_everything_under_the_new_key(
    own_database: Settings, configure: Configure, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = own_database
    migrate()
    old = environment.secret_key
    case_id = open_full_case(environment)
    with session_scope() as session:
        # A manual package names the victim and the link: it is rotated like them.
        case = find_case(session, case_id)
        (first, *_) = queue_case(session, case, catalogue_for(environment.platforms_dir),
                                 actor=TEST_ACTOR).request_ids  # fmt: skip
        session.get_one(RemovalRequest, first).package = f"Name: {NAME}\nLink: {LINKS[0]}"
    # One row a batch: every table goes through several batches, as a large store does.
    monkeypatch.setattr("takedown.store.rekey.BATCH_ROWS", 1)
    new = generate_key()
    configure(TAKEDOWN_SECRET_KEY=f"{new},{old}")
    # Until `keys rotate` has made the new key the store's, nothing is written under it.
    with pytest.raises(ConfigError, match="not yet a key of this database"), session_scope():
        pass
    prepare_store(rotating=True)
    # Then new values are encrypted under it, and old ones still read.
    with session_scope() as session:
        case = find_case(session, case_id)
        assert case.victim_name == NAME
        # Links hashed under the old key are still found before the rotation.
        found = add_links(
            session, case, LINKS, catalogue_for(environment.platforms_dir), actor=TEST_ACTOR
        )
        assert found.already_there == LINKS
    rotation = rotate(get_engine(), keyring(), actor=TEST_ACTOR)
    assert rotation.values["cases.victim_name"] == 1
    assert rotation.values["items.url"] == 2
    assert rotation.values["removal_requests.package"] == 1
    assert rotation.link_hashes == 2
    # The old key retired: everything still reads, and links are still found.
    configure(TAKEDOWN_SECRET_KEY=new)
    with session_scope() as session:
        case = find_case(session, case_id)
        assert (case.victim_email, case.victim_phone, case.notes) == (EMAIL, PHONE, NOTES)
        assert [item.url for item in case.items] == LINKS
        assert session.get_one(RemovalRequest, first).package == f"Name: {NAME}\nLink: {LINKS[0]}"
        found = add_links(
            session, case, LINKS, catalogue_for(environment.platforms_dir), actor=TEST_ACTOR
        )
        assert found.already_there == LINKS
    # And the old key alone is refused before it reads or writes anything.
    configure(TAKEDOWN_SECRET_KEY=old)
    with pytest.raises(ConfigError, match="not a key of this database"), session_scope():
        pass
    with get_engine().connect() as connection:
        (token,) = connection.execute(text("SELECT victim_name FROM cases")).one()
    assert not keyring_from(old).opens(0, token)


def queued_case_with_history(settings: Settings) -> str:
    """A case with requests, transitions, a check, a notification and an alert."""
    case_id = open_full_case(settings)
    with session_scope() as session:
        case = find_case(session, case_id)
        queue_case(session, case, catalogue_for(settings.platforms_dir), actor=TEST_ACTOR)
        item = case.items[0]
        session.add(
            Check(
                item_id=item.id,
                checked_at=utcnow(),
                outcome="online",
                http_status=200,
                reason="the page answered 200",
                duration_ms=5.0,
            )
        )
        session.add(Alert(case_id=case_id, item_id=item.id, what="content back online"))
        record_event(session, case_id, "requests_sent")
    return case_id


def counts(case_id: str) -> dict[str, int]:
    with session_scope() as session:
        item_ids = select(Item.id).where(Item.case_id == case_id)
        request_ids = select(RemovalRequest.id).where(RemovalRequest.item_id.in_(item_ids))
        return {
            "items": session.scalar(select(func.count()).where(Item.case_id == case_id)) or 0,
            "requests": session.scalar(
                select(func.count()).where(RemovalRequest.id.in_(request_ids))
            )
            or 0,
            "transitions": session.scalar(
                select(func.count()).where(Transition.request_id.in_(request_ids))
            )
            or 0,
            "attempts": session.scalar(
                select(func.count()).where(Attempt.request_id.in_(request_ids))
            )
            or 0,
            "checks": session.scalar(select(func.count()).where(Check.item_id.in_(item_ids))) or 0,
            "alerts": session.scalar(select(func.count()).where(Alert.case_id == case_id)) or 0,
            "notifications": session.scalar(
                select(func.count()).where(Notification.case_id == case_id)
            )
            or 0,
        }


def test_erasing_a_case_removes_identity_and_links_and_keeps_anonymous_counts(
    environment: Settings,
) -> None:
    case_id = queued_case_with_history(environment)
    other_id = open_full_case(environment)  # another victim's case is left alone
    assert all(count for what, count in counts(case_id).items() if what != "attempts")
    with session_scope() as session:
        find_case(session, case_id).items[0].status = LinkStatus.REMOVED
    with session_scope() as session:
        kept = erasure.erase_case(session, find_case(session, case_id), utcnow(), actor=TEST_ACTOR)
    assert (kept["links"], kept["removed"]) == (2, 1)
    assert kept["requests_by_state"] == {"queued": 2}
    assert dict.fromkeys(counts(case_id), 0) == counts(case_id)
    with session_scope() as session:
        case = find_case(session, case_id)
        assert (case.victim_name, case.victim_email, case.victim_phone, case.notes) == (
            None,
            None,
            None,
            None,
        )
        assert case.erased_at is not None
        assert json.loads(case.erased_summary or "{}")["links"] == 2
        assert find_case(session, other_id).victim_name == NAME
        with pytest.raises(Conflict, match="was erased on"):
            add_links(
                session, case, LINKS, catalogue_for(environment.platforms_dir), actor=TEST_ACTOR
            )
        with pytest.raises(Conflict, match="already erased"):
            erasure.erase_case(session, case, utcnow(), actor=TEST_ACTOR)


def test_a_case_with_send_attempts_and_a_follow_up_is_erased_whole(
    environment: Settings,
) -> None:
    # A case that went through delivery and escalation: attempts point at its requests, and a
    # follow-up points at the request it escalates.
    case_id = queued_case_with_history(environment)
    with session_scope() as session:
        first = find_case(session, case_id).items[0].requests[0]
        session.add(
            Attempt(
                request_id=first.id,
                channel=first.channel,
                started_at=utcnow(),
                duration_ms=12.0,
                outcome="delivered",
                http_status=200,
            )
        )
        session.add(
            RemovalRequest(
                item_id=first.item_id,
                platform_id=first.platform_id,
                channel=first.channel,
                state=RequestState.QUEUED,
                escalates_id=first.id,
                escalation_step=0,
            )
        )
    assert counts(case_id)["attempts"] == 1
    with session_scope() as session:
        kept = erasure.erase_case(session, find_case(session, case_id), utcnow(), actor=TEST_ACTOR)
    assert kept["requests_by_state"] == {"queued": 3}
    assert dict.fromkeys(counts(case_id), 0) == counts(case_id)


def test_a_case_with_a_request_being_sent_is_not_erased_until_it_finishes(
    environment: Settings,
) -> None:
    case_id = queued_case_with_history(environment)
    with session_scope() as session:
        request = find_case(session, case_id).items[0].requests[0]
        request.state = RequestState.SENDING
    with session_scope() as session, pytest.raises(Conflict, match="being sent"):
        erasure.erase_case(session, find_case(session, case_id), utcnow(), actor=TEST_ACTOR)
    assert counts(case_id)["items"] == 2


def test_a_nightly_erasure_put_off_by_a_send_in_progress_changes_nothing_of_the_case(
    environment: Settings,
) -> None:
    case_id = queued_case_with_history(environment)
    with session_scope() as session:
        case = find_case(session, case_id)
        case.closed_at = utcnow() - timedelta(days=environment.retention_days + 1)
        sending, waiting = (item.requests[0] for item in case.items)
        sending.state = RequestState.SENDING
        waiting_id = waiting.id
    with session_scope() as session:
        assert erasure.erase_expired(session, environment, utcnow()) == []
    with session_scope() as session:
        assert session.get_one(RemovalRequest, waiting_id).state == RequestState.QUEUED
    assert counts(case_id)["items"] == 2


def test_another_cases_requests_in_play_do_not_hold_up_closing_this_one(
    environment: Settings,
) -> None:
    busy = queued_case_with_history(environment)  # two requests still queued
    settled = queued_case_with_history(environment)
    with session_scope() as session:
        for item in find_case(session, settled).items:
            item.requests[0].state = RequestState.SENT
    with session_scope() as session:
        assert erasure.close_case(session, find_case(session, settled), utcnow(), actor=TEST_ACTOR)
    with session_scope() as session:
        assert find_case(session, busy).closed_at is None
        assert find_case(session, settled).closed_at is not None


def test_closing_needs_every_request_settled_and_stops_the_checks(
    environment: Settings,
) -> None:
    case_id = queued_case_with_history(environment)
    with session_scope() as session:
        case = find_case(session, case_id)
        with pytest.raises(Conflict, match="still has 2 request"):
            erasure.close_case(session, case, utcnow(), actor=TEST_ACTOR)
        for item in case.items:
            item.requests[0].state = RequestState.SENT
        links = {item.id for item in case.items}
    with session_scope() as session:
        assert links <= set(items_to_check(session, environment, utcnow()))
        erasure.close_case(session, find_case(session, case_id), utcnow(), actor=TEST_ACTOR)
    with session_scope() as session:
        assert not links & set(items_to_check(session, environment, utcnow()))
        # Past its deadline, a request of a closed case gets no follow-up either.
        for item in find_case(session, case_id).items:
            item.requests[0].deadline_at = utcnow() - timedelta(hours=1)
    with session_scope() as session:
        overdue = mark_overdue(session, utcnow())
        assert not {r.id for i in find_case(session, case_id).items for r in i.requests} & set(
            overdue
        )
        with pytest.raises(Conflict, match="reopen it with takedown case reopen"):
            add_links(session, find_case(session, case_id), ["https://formsite.example/p/9"],
                      catalogue_for(environment.platforms_dir), actor=TEST_ACTOR)  # fmt: skip


def test_the_nightly_job_erases_cases_closed_longer_than_the_retention_period(
    environment: Settings, configure: Configure
) -> None:
    configure(TAKEDOWN_RETENTION_DAYS="30")
    long_closed, recently_closed, still_open = (open_full_case(environment) for _ in range(3))
    with session_scope() as session:
        find_case(session, long_closed).closed_at = utcnow() - timedelta(days=31)
        find_case(session, recently_closed).closed_at = utcnow() - timedelta(days=29)
        # RDAP answers name the hosts of links: kept only as long as they are cached.
        fresh, stale = (f"domain:{uuid.uuid4().hex}.example" for _ in range(2))
        session.add(ContactLookup(key=fresh, answer="{}", fetched_at=utcnow()))
        session.add(
            ContactLookup(
                key=stale,
                answer="{}",
                fetched_at=utcnow() - timedelta(hours=environment.rdap_cache_hours + 1),
            )
        )
    tasks.nightly()  # the task beat runs, called as a plain function
    with session_scope() as session:
        assert session.get(ContactLookup, fresh) is not None
        assert session.get(ContactLookup, stale) is None
    with session_scope() as session:
        assert find_case(session, long_closed).erased_at is not None
        assert find_case(session, long_closed).victim_name is None
        assert find_case(session, recently_closed).victim_name == NAME
        assert find_case(session, still_open).victim_name == NAME


@pytest.mark.usefixtures("environment")
def test_every_caseworker_action_is_in_the_audit_log_without_identity(configure: Configure) -> None:
    configure(TAKEDOWN_ACTOR="caseworker.maija")
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    opened = json.loads(
        run("case", "new", "--victim-name", NAME, "--victim-email", EMAIL, "--language", "fi",
            "--victim-phone", PHONE, "--json")
    )  # fmt: skip
    case_id = opened["id"]
    run("case", "add-urls", case_id, *LINKS)
    run("case", "update", case_id, "--notes", NOTES, "--country", "FI")
    queued = json.loads(run("queue", case_id, "--json"))["queued"]
    run("withdraw", queued[0])
    run("status", case_id)
    log = json.loads(run("audit", case_id, "--json"))
    actions = [entry["action"] for entry in log]
    mine = [entry for entry in log if entry["actor"] == "caseworker.maija"]
    assert [entry["action"] for entry in mine] == [
        "case opened",
        "links added",
        "case updated",
        "requests queued",
        "withdrawn",
        "case viewed",
    ]
    assert mine[2]["detail"] == "country, notes"
    assert mine[4]["request"] == queued[0]
    # The workers' side: the state changes of each request, by the service.
    assert actions.count("pending → queued") == 2
    assert "queued → withdrawn" in actions
    assert [entry["at"] for entry in log] == sorted(entry["at"] for entry in log)
    shown = run("audit", case_id)
    for value in IDENTIFYING:
        assert value not in json.dumps(log)
        assert value not in shown
    run("case", "erase", case_id, "--yes")
    with session_scope() as session:
        events = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.case_id == case_id)
            .order_by(AuditEvent.id)  # PostgreSQL returns rows in no promised order
        )
        assert list(events)[-1] == "case erased"


def test_after_real_deliveries_no_copy_of_the_data_shows_who_the_victim_is(
    stack: Stack, redis_url: str
) -> None:
    tag = uuid.uuid4().hex[:10]
    name, email, phone = f"Victim {tag}", f"victim-{tag}@example.org", f"+358 40 {tag[:4]}"
    links = [f"https://formsite.example/p/leak-{tag}", f"https://mailsite.example/p/leak-{tag}"]
    catalogue = catalogue_for(stack.settings.platforms_dir)
    with session_scope() as session:
        case = open_test_case(session, victim_name=name, victim_email=email)
        case.victim_phone, case.notes = phone, f"notes {tag}"
        add_links(session, case, links, catalogue, actor=TEST_ACTOR)
        request_ids = queue_case(session, case, catalogue, actor=TEST_ACTOR).request_ids
    assert publish_now(request_ids)
    assert {wait_at_rest(request_id).state for request_id in request_ids} == {"sent"}
    # The platforms got the link (that is the point); nothing else keeps it in clear.
    assert any(r.form.get("url") == links[0] for r in stack.site.requests_to("/formsite/report"))

    if stack.settings.database_url.startswith("sqlite"):
        path = Path(stack.settings.database_url.removeprefix("sqlite:///"))
        database = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    else:
        database = raw_rows(stack.settings).encode()
    broker = redis.Redis.from_url(redis_url)
    keys = list(broker.scan_iter(count=1000))
    assert keys  # the broker's own bookkeeping is there to be read
    copy_of_redis = b"".join(broker.dump(key) or b"" for key in keys)
    worker_log = stack.log.read_bytes()
    assert b"succeeded" in worker_log
    for value in (name, email, phone, f"notes {tag}", f"leak-{tag}"):
        assert value.encode() not in database, value
        assert value.encode() not in copy_of_redis, value
        assert value.encode() not in worker_log, value


def test_log_records_are_scrubbed_of_links_and_addresses_whoever_logs_them(
    tmp_path: Path,
) -> None:
    install_log_redaction()
    handler = logging.FileHandler(tmp_path / "worker.log")
    logger = logging.getLogger("urllib3.connectionpool")
    logger.addHandler(handler)
    try:
        logger.warning("retrying %s for %s", LINKS[0], EMAIL)
        try:
            raise ConnectionError(f"Max retries exceeded with url: /p/secret-1 ({EMAIL})")
        except ConnectionError:
            logger.exception("request to %s failed", LINKS[1])
    finally:
        logger.removeHandler(handler)
        handler.close()
    written = (tmp_path / "worker.log").read_text()
    assert "retrying [link] for [email]" in written
    assert "ConnectionError: Max retries exceeded with url: [link] ([email])" in written
    for value in IDENTIFYING:
        assert value not in written


def test_an_older_database_is_encrypted_when_upgraded(own_database: Settings) -> None:
    from alembic import command

    from takedown.store.db import _alembic_config

    command.upgrade(_alembic_config(get_engine()), "0009")
    now = utcnow()
    with get_engine().begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cases (id, reference, victim_name, victim_email, language,"
                " minor, notify, created_at) VALUES ('c1', 'TD-2026-AAAAAA', :name,"
                " :email, 'fi', false, true, :now)"
            ),
            {"name": NAME, "email": EMAIL, "now": now},
        )
        connection.execute(
            text(
                "INSERT INTO items (id, case_id, position, url, host, status, created_at)"
                " VALUES ('i1', 'c1', 1, :url, 'formsite.example', 'unknown', :now)"
            ),
            {"url": LINKS[0], "now": now},
        )
        connection.execute(
            text(
                "INSERT INTO removal_requests (id, item_id, platform_id, channel_index, channel,"
                " state, attempts, channel_attempts, last_error, created_at, updated_at)"
                " VALUES ('r1', 'i1', 'formsite', 0, 'email', 'failed', 1, 1, :error, :now,"
                " :now)"
            ),
            {"error": f"550 <{EMAIL}> refused for {LINKS[0]}", "now": now},
        )
    migrate()
    dump = raw_rows(own_database)
    assert "TD-2026-AAAAAA" in dump
    for value in (NAME, EMAIL, LINKS[0]):
        assert value not in dump
    assert "550 <[email]> refused for [link]" in dump  # an old error, scrubbed
    with session_scope() as session:
        case = find_case(session, "c1")
        assert (case.victim_name, case.items[0].url) == (NAME, LINKS[0])
        assert case.items[0].url_hash == keyring().link_hash(LINKS[0])
        # The unique constraint moved to the hash: the same link is found as a duplicate.
        again = add_links(
            session, case, [LINKS[0]], catalogue_for(own_database.platforms_dir), actor=TEST_ACTOR
        )
        assert again.already_there == [LINKS[0]]


def test_keys_generate_and_rotate_from_the_command_line(
    own_database: Settings, configure: Configure
) -> None:
    runner = CliRunner()
    generated = runner.invoke(main, ["keys", "generate"])
    new = generated.output.strip()
    assert generated.exit_code == 0
    assert len(new) == 44  # 32 bytes, url-safe base64
    migrate()
    case_id = open_full_case(own_database)
    configure(TAKEDOWN_SECRET_KEY=f"{new},{own_database.secret_key}")
    rotated = runner.invoke(main, ["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert "cases.victim_name: 1 value(s) re-encrypted" in rotated.output
    assert "items.url_hash: 2 link hash(es) recomputed" in rotated.output
    configure(TAKEDOWN_SECRET_KEY=new)
    with session_scope() as session:
        assert find_case(session, case_id).victim_name == NAME


def test_erase_asks_first_and_a_no_keeps_everything(environment: Settings) -> None:
    case_id = open_full_case(environment)
    answered_no = CliRunner().invoke(main, ["case", "erase", case_id], input="n\n")
    assert answered_no.exit_code == 1
    assert "Aborted" in answered_no.output
    with session_scope() as session:
        assert find_case(session, case_id).victim_name == NAME
    answered_yes = CliRunner().invoke(main, ["case", "erase", case_id], input="y\n")
    assert answered_yes.exit_code == 0, answered_yes.output
    assert "Kept: 2 link(s) counted, 0 removed" in answered_yes.output
    with session_scope() as session:
        assert find_case(session, case_id).victim_name is None
    shown = CliRunner().invoke(main, ["status", case_id])
    assert shown.exit_code == 0, shown.output
    assert "Erased" in shown.output
    assert "no identity and no links are kept" in shown.output


def test_a_platform_reply_quoting_the_victims_name_is_stored_without_it(
    environment: Settings, site: FakePlatform
) -> None:
    name = f"Victim {uuid.uuid4().hex[:8]}"
    site.script("/refusing/intake", Reply(400, f"<p>Report for {name}: fill in all fields</p>"))
    catalogue = catalogue_for(environment.platforms_dir)
    with session_scope() as session:
        case = open_test_case(session, victim_name=name, victim_email=EMAIL, language="en")
        add_links(
            session,
            case,
            [f"https://refusing.example/p/{uuid.uuid4().hex}"],
            catalogue,
            actor=TEST_ACTOR,
        )
        (request_id,) = queue_case(session, case, catalogue, actor=TEST_ACTOR).request_ids
    deliver(request_id, environment)
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        (attempt,) = request.attempt_rows
        assert request.state == RequestState.FAILED
        assert attempt.excerpt == "Report for [redacted]: fill in all fields"
        assert name not in (request.last_error or "")
