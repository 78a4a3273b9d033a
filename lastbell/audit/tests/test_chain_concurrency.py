"""Several processes write audit events at once (web processes, the worker): the district's
chain stays one sequence, each writer waiting its turn on the chain's head. Each writer is a
thread with its own connection, as in the truancy test of two staff issuing at once (see its
notes on SQLite's shared in-memory test database, hence `on_a_file`)."""

import threading

from django.db import connection, transaction

from lastbell.audit.chain import verify
from lastbell.audit.models import AuditEvent, Via
from lastbell.audit.services import audit_event, audit_record, audit_saved
from lastbell.truancy.tests.test_concurrency import in_thread, on_a_file  # noqa: F401

ROUNDS = 15


def test_two_writers_at_once_make_one_chain(on_a_file, school):  # noqa: F811
    on_a_file()
    start = threading.Barrier(2, timeout=10)
    failed: list[BaseException] = []

    def one_by_one():
        start.wait()
        for n in range(ROUNDS):
            with transaction.atomic():
                audit_record(action="school.settings.updated", actor=None, target=school,
                             school=school, after={"round": n})  # fmt: skip

    def in_batches():
        start.wait()
        for n in range(ROUNDS):
            with transaction.atomic():
                audit_saved(
                    audit_event(action="attendance.absence.created", actor=None,
                                via=Via.IMPORT, district_id=school.district_id,
                                school_id=school.pk, target_type="Absence", target_id=n,
                                label=f"Row {n}.{k}")
                    for k in range(3)
                )  # fmt: skip

    def writer(work):
        try:
            in_thread(work)
        except BaseException as error:  # re-raised below, in the test
            failed.append(error)

    threads = [threading.Thread(target=writer, args=(work,)) for work in (one_by_one, in_batches)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert not failed, failed

    def read():
        return (
            list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)),
            [(r.events, r.broken) for r in verify()],
        )

    seqs, reports = in_thread(read)
    assert seqs == list(range(1, 4 * ROUNDS + 1))
    assert reports == [(4 * ROUNDS, None)]


def test_the_chain_head_is_locked_in_the_writing_transaction(school):
    """What keeps PostgreSQL's writers in turn: the head row is read FOR UPDATE (SQLite's
    writers are in turn already: every transaction there begins IMMEDIATE)."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        audit_record(action="school.settings.updated", actor=None, target=school, school=school)

    heads = [q["sql"] for q in queries.captured_queries if "audit_auditchain" in q["sql"]]
    if connection.features.has_select_for_update:
        assert "FOR NO KEY UPDATE" in heads[0]
    assert heads[-1].startswith("UPDATE")
