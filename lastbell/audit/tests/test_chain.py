"""The audit log is hash-chained per district (audit/chain.py): every writer links its events,
`lastbell audit_verify` names the first broken link, redaction keeps the chain verifiable, and
the people and places an event names cannot be deleted from under it."""

import contextlib
import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from lastbell import testing
from lastbell.audit.chain import CONTENT, LINKED, REDACTED, chain_hash, event_digest
from lastbell.audit.models import AuditChain, AuditEvent, Via
from lastbell.audit.services import (
    audit_event,
    audit_record,
    audit_records,
    audit_redact_student,
    audit_saved,
)
from lastbell.db import insert_rows

TABLE = AuditEvent._meta.db_table


@pytest.fixture
def written(school, staff, student):
    """Six events of Lincoln's district, two from each writer."""
    with transaction.atomic():
        for hours in (15, 16):
            audit_record(action="school.settings.updated", actor=staff, target=school,
                         school=school, before={"hours": 14}, after={"hours": hours})  # fmt: skip
    with transaction.atomic():
        audit_records([
            {"action": "plan.change.created", "actor": staff, "target": student,
             "school": school, "student": student, "after": {"type": kind, "note": "ñ ✓"}}
            for kind in ("walk", "bus")
        ])  # fmt: skip
    with transaction.atomic():
        audit_saved(
            audit_event(action="attendance.absence.created", actor=None, via=Via.IMPORT,
                        district_id=school.district_id, school_id=school.pk,
                        student_id=student.pk, target_type="Absence", target_id=n,
                        label=f"Ana Rivera, Nov {n}", after={"kind": "absent"})
            for n in (3, 4)
        )  # fmt: skip
    return list(AuditEvent.objects.order_by("seq"))


def verify() -> tuple[int, str]:
    """`lastbell audit_verify`'s exit status and what it said."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", stdout=out, stderr=err, chunk_size=2)
        status = 0
    except SystemExit as exit:
        status = exit.code
    return status, out.getvalue() + err.getvalue()


@contextlib.contextmanager
def tampering():
    """Raw SQL as a superuser of the database: on PostgreSQL one can turn triggers off (the
    refusing one among them) for a while."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        yield cursor
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


def test_every_writer_links_its_events_to_the_one_before(written, school):
    previous = "0" * 64
    for n, event in enumerate(written, start=1):
        content = [getattr(event, name) for name in CONTENT]
        assert event.seq == n
        assert event.digest == event_digest(n, content)
        assert event.chain == chain_hash(previous, event.digest)
        previous = event.chain
    assert [e.action for e in written] == ["school.settings.updated"] * 2 + [
        "plan.change.created"
    ] * 2 + ["attendance.absence.created"] * 2
    head = AuditChain.objects.get(district=school.district)
    assert (head.seq, head.chain) == (6, previous)


def test_each_district_has_a_chain_of_its_own(written, school):
    elsewhere = testing.make_school(testing.make_district("Hillside"))
    with transaction.atomic():
        event = audit_record(action="school.settings.updated", actor=None, target=elsewhere,
                             school=elsewhere)  # fmt: skip

    assert event.seq == 1
    assert event.chain == chain_hash("0" * 64, event.digest)
    assert AuditChain.objects.get(district=school.district).seq == 6


def test_an_intact_log_verifies_with_its_count(written):
    status, said = verify()

    assert status == 0
    assert "The audit log is intact: 6 events in 1 district chain." in said
    assert f"Riverside Unified: 6 events, last link {written[-1].chain}" in said


def test_an_event_changed_with_raw_sql_is_named(written):
    with tampering() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET target_label = 'Ben Okafor' WHERE id = %s",  # noqa: S608
                       [written[2].pk])  # fmt: skip

    status, said = verify()

    assert status == 1
    assert f"event no. 3 (id {written[2].pk}, " in said
    assert "Added a change — Ben Okafor) was changed after it was written" in said


def test_a_change_to_before_or_after_is_named_too(written):
    with tampering() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET after = %s WHERE id = %s",  # noqa: S608
                       ['{"hours": 17}', written[1].pk])  # fmt: skip

    status, said = verify()

    assert status == 1
    assert "event no. 2 " in said and "was changed after it was written" in said


def test_an_event_deleted_from_the_middle_is_detected(written):
    with tampering() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [written[3].pk])  # noqa: S608

    status, said = verify()

    assert status == 1
    assert "Event no. 4 of Riverside Unified is missing: after event no. 3 " in said
    assert f"comes event no. 5 (id {written[4].pk}, " in said


def test_the_last_events_deleted_are_detected(written):
    with tampering() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE seq >= 5", [])  # noqa: S608

    status, said = verify()

    assert status == 1
    assert "ends at event no. 4, but 6 were written: the last 2 were deleted" in said


def test_an_event_inserted_out_of_chain_is_detected(written, school):
    last = written[-1]
    content = [getattr(last, name) for name in CONTENT]
    content[CONTENT.index("target_label")] = "Ben Okafor, Nov 5"
    digest = event_digest(7, content)
    with tampering():
        insert_rows(AuditEvent, LINKED, [(*content, 7, digest, "f" * 64, False)])

    status, said = verify()

    assert status == 1
    assert "The chain of Riverside Unified breaks at event no. 7 " in said


def test_an_event_inserted_with_a_well_made_link_is_detected_by_the_chain_s_head(written):
    """Whoever recomputes the links for an added event still leaves the head behind."""
    last = written[-1]
    content = [getattr(last, name) for name in CONTENT]
    digest = event_digest(7, content)
    with tampering():
        insert_rows(AuditEvent, LINKED, [(*content, 7, digest, chain_hash(last.chain, digest),
                                          False)])  # fmt: skip

    status, said = verify()

    assert status == 1
    assert "has events the chain never recorded, from event no. 7" in said


# --- redaction -------------------------------------------------------------------------------


def test_redaction_removes_a_student_s_personal_fields_and_the_chain_still_verifies(
    written, school, staff, student
):
    other = testing.make_student(school, first="Ben", last="Okafor")
    with transaction.atomic():
        kept = audit_record(action="plan.change.created", actor=staff, target=other,
                            school=school, student=other, after={"type": "walk"})  # fmt: skip

    assert audit_redact_student(student_id=student.pk) == 4

    for event in AuditEvent.objects.filter(student=student):
        assert event.redacted
        assert (event.actor_label, event.target_label) == (REDACTED, REDACTED)
        assert set(event.after.values()) == {REDACTED}
        assert "Ana" not in str(event.after) and "ñ" not in str(event.after)
    assert AuditEvent.objects.get(pk=kept.pk).target_label == "Ben Okafor"
    erased = AuditEvent.objects.get(action="audit.student.redacted")
    assert (erased.after, erased.target_label) == (
        {"events": 4},
        "4 events redacted",
    )
    assert "Ana" not in erased.actor_label and erased.student_id is None
    status, said = verify()
    assert status == 0, said
    assert "8 events" in said


def test_a_redacted_event_s_link_is_still_checked(written, student):
    audit_redact_student(student_id=student.pk)
    with tampering() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET digest = %s WHERE id = %s",  # noqa: S608
                       ["0" * 64, written[2].pk])  # fmt: skip

    status, said = verify()

    assert status == 1
    assert "breaks at event no. 3 " in said


def test_redaction_twice_redacts_nothing_more(written, student):
    audit_redact_student(student_id=student.pk)

    assert audit_redact_student(student_id=student.pk) == 0
    assert verify()[0] == 0


# --- what the log names cannot be deleted from under it --------------------------------------


@pytest.mark.parametrize("what", ["student", "staff", "school", "district"])
def test_what_an_event_names_cannot_be_deleted(written, what, request):
    thing = request.getfixturevalue(what)

    with pytest.raises(ProtectedError):
        thing.delete()

    assert verify()[0] == 0


# --- PostgreSQL refuses changes itself -------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        f"UPDATE {TABLE} SET target_label = 'Ben Okafor' WHERE id = %s",  # noqa: S608
        f"DELETE FROM {TABLE} WHERE id = %s",  # noqa: S608
        # Marked redacted, but moved in the chain: not a redaction.
        f"UPDATE {TABLE} SET redacted = true, actor_label = '{REDACTED}', "  # noqa: S608
        f"target_label = '{REDACTED}', seq = seq + 100 WHERE id = %s",
        # Marked redacted, but with something written in: not a redaction either.
        f"UPDATE {TABLE} SET redacted = true, actor_label = '{REDACTED}', "  # noqa: S608
        f'target_label = \'{REDACTED}\', after = \'{{"type": "{REDACTED}", '
        f'"note": "Ben"}}\' WHERE id = %s',
    ],
    ids=["update", "delete", "redaction-that-moves", "redaction-that-writes"],
)
def test_postgresql_refuses_to_change_or_delete_an_event(written, sql):
    with (pytest.raises(IntegrityError, match="never edited or deleted"),
          transaction.atomic(), connection.cursor() as cursor):  # fmt: skip
        cursor.execute(sql, [written[2].pk])

    assert AuditEvent.objects.get(pk=written[2].pk).target_label == written[2].target_label


@pytest.mark.postgres
def test_postgresql_lets_the_redaction_through(written, student):
    assert audit_redact_student(student_id=student.pk) == 4
    assert AuditEvent.objects.filter(redacted=True).count() == 4
