"""Custody restrictions: staff record and end them; nobody deletes them; guardians never end one."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection

from lastbell.audit.models import AuditEvent
from lastbell.people import services
from lastbell.people.models import CustodyRestriction, RestrictionKind
from lastbell.people.tests.uploads import HTML_BYTES, PDF_BYTES, upload


def _record(student, actor, **fields):
    values = {"person_name": "Victor Diaz", "kind": RestrictionKind.DO_NOT_RELEASE,
              "court_order_reference": "FL-2026-0042", "starts_on": dt.date(2026, 10, 1),
              **fields}  # fmt: skip
    return services.restriction_record(student=student, actor=actor, **values)


def test_it_records_a_restriction_with_its_audit_event(on_school_day, student, staff):
    restriction = _record(
        student, staff, person_description="Drives a red pickup",
        court_order_file=upload("order.pdf", PDF_BYTES, "application/pdf"),
    )  # fmt: skip

    restriction.refresh_from_db()
    assert restriction.recorded_by == staff and restriction.ended_at is None
    assert restriction.court_order_file.name.startswith("private/court-orders/")
    assert restriction.court_order_file.name.endswith(".pdf")
    event = AuditEvent.objects.get(action="custody.restriction.recorded")
    assert (event.actor, event.student) == (staff, student)
    assert event.after["person"] == "Victor Diaz"
    assert event.after["court order"] == "FL-2026-0042"
    assert event.after["court order file"] is True
    assert event.action_label == "Recorded a custody restriction"


@pytest.mark.parametrize("persona", ["guardian", "teacher", "other_staff"])
def test_it_lets_only_office_staff_record_a_restriction(request, on_school_day, student, persona):
    user = request.getfixturevalue(persona)
    user = getattr(user, "user", None) or user

    with pytest.raises(PermissionDenied):
        _record(student, user)

    assert not CustodyRestriction.objects.exists()
    assert not AuditEvent.objects.exists()


BAD = [
    pytest.param({"person_name": " "}, "person_name",
                 "Give the name of the person, as it is written on the court order.",
                 id="no-name"),
    pytest.param({"kind": "be_nice"}, "kind", "Choose what the court order says.", id="bad-kind"),
    pytest.param({"court_order_reference": ""}, "court_order_reference",
                 "Give the court order's case number or reference, as written on it.",
                 id="no-court-order"),
    pytest.param({"starts_on": None}, "starts_on", "Give the date the court order starts.",
                 id="no-start"),
    pytest.param({"starts_on": dt.date(2026, 12, 1), "ends_on": dt.date(2026, 11, 30)},
                 "ends_on",
                 "The restriction ends before it starts. Check both dates on the court order.",
                 id="ends-before-it-starts"),
    pytest.param({"ends_on": dt.date(2026, 11, 17)}, "ends_on",
                 "This restriction has already ended. Record restrictions that are in effect "
                 "now or start later.", id="already-over"),
    pytest.param({"court_order_file": "html"}, "court_order_file",
                 "The court order must be a PDF, or a JPEG, PNG or WebP picture. This file is "
                 "not one of those (whatever its name says): save it in one of those formats "
                 "and try again.", id="html-named-pdf"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "field", "message"), BAD)
def test_it_refuses_bad_input_and_saves_nothing(
    on_school_day, student, staff, private_media, fields, field, message
):
    if fields.get("court_order_file") == "html":
        fields = {"court_order_file": upload("order.pdf", HTML_BYTES, "application/pdf")}

    with pytest.raises(ValidationError) as caught:
        _record(student, staff, **fields)

    assert caught.value.message_dict == {field: [message]}
    assert not CustodyRestriction.objects.exists()
    assert not AuditEvent.objects.exists()
    assert not private_media.exists() or not any(private_media.rglob("*.*"))


def test_it_refuses_a_court_order_over_10_mb(on_school_day, student, staff):
    big = upload("order.pdf", PDF_BYTES + b"\0" * (10 * 1024 * 1024), "application/pdf")

    with pytest.raises(ValidationError) as caught:
        _record(student, staff, court_order_file=big)

    assert caught.value.message_dict["court_order_file"] == [
        "The court order is 10.1 MB; the most it can be is 10 MB. "
        "Choose a smaller file or shrink it first."
    ]
    assert not CustodyRestriction.objects.exists()


def test_it_ends_a_restriction_and_keeps_it_on_record(on_school_day, student, staff):
    restriction = _record(student, staff)

    services.restriction_end(
        restriction=restriction, actor=staff, reason="Order lifted by FL-2026-0107"
    )

    restriction.refresh_from_db()
    assert restriction.ended_at is not None and restriction.ended_by == staff
    assert restriction.end_reason == "Order lifted by FL-2026-0107"
    assert CustodyRestriction.objects.filter(pk=restriction.pk).exists()
    assert not services.active_restrictions(student).exists()
    event = AuditEvent.objects.get(action="custody.restriction.ended")
    assert event.before["ended"] is None
    assert event.after["ended"] == "Order lifted by FL-2026-0107"


def test_a_guardian_can_never_end_a_restriction(on_school_day, family_editing, student, staff,
                                                guardian):  # fmt: skip
    restriction = _record(student, staff)

    with pytest.raises(PermissionDenied):
        services.restriction_end(restriction=restriction, actor=guardian.user, reason="He's fine")

    restriction.refresh_from_db()
    assert restriction.ended_at is None
    assert services.active_restrictions(student).get() == restriction


@pytest.mark.parametrize("persona", ["teacher", "other_staff"])
def test_staff_who_may_not_edit_the_student_cannot_end_a_restriction(
    request, on_school_day, student, staff, persona
):
    restriction = _record(student, staff)

    with pytest.raises(PermissionDenied):
        services.restriction_end(
            restriction=restriction, actor=request.getfixturevalue(persona), reason="Lifted"
        )

    restriction.refresh_from_db()
    assert restriction.ended_at is None


def test_it_asks_why_a_restriction_ends(on_school_day, student, staff):
    restriction = _record(student, staff)

    with pytest.raises(ValidationError) as caught:
        services.restriction_end(restriction=restriction, actor=staff, reason="   ")

    assert caught.value.message_dict == {
        "reason": ["Say why the restriction ends, such as the court order that lifted it."]
    }
    restriction.refresh_from_db()
    assert restriction.ended_at is None


def test_it_ends_a_restriction_once(on_school_day, student, staff):
    restriction = _record(student, staff)
    services.restriction_end(restriction=restriction, actor=staff, reason="Lifted")

    with pytest.raises(ValidationError, match="already ended on November 18, 2026"):
        services.restriction_end(restriction=restriction, actor=staff, reason="Again")

    restriction.refresh_from_db()
    assert restriction.end_reason == "Lifted"
    assert AuditEvent.objects.filter(action="custody.restriction.ended").count() == 1


def test_active_restrictions_follow_the_court_order_s_dates(on_school_day, student, staff):
    today = on_school_day
    current = _record(student, staff, person_name="A", starts_on=today - dt.timedelta(days=3))
    _record(student, staff, person_name="B", starts_on=today + dt.timedelta(days=1))
    last_day = _record(student, staff, person_name="C", starts_on=today - dt.timedelta(days=9),
                       ends_on=today)  # fmt: skip
    ended = _record(student, staff, person_name="D", starts_on=today)
    services.restriction_end(restriction=ended, actor=staff, reason="Entered by mistake")

    assert set(services.active_restrictions(student)) == {current, last_day}
    assert set(services.active_restrictions(student, today + dt.timedelta(days=1))) == {
        current, CustodyRestriction.objects.get(person_name="B"),
    }  # fmt: skip


def _refuse_audit_writes(execute, sql, params, many, context):
    if "audit_auditevent" in sql and sql.lstrip().upper().startswith("INSERT"):
        raise DatabaseError("the audit table refused the write")
    return execute(sql, params, many, context)


@pytest.mark.django_db(transaction=True)
def test_it_records_ends_and_audits_in_one_transaction(on_school_day, student, staff):
    with connection.execute_wrapper(_refuse_audit_writes), pytest.raises(DatabaseError):
        _record(student, staff)
    assert not CustodyRestriction.objects.exists()

    restriction = _record(student, staff)
    with connection.execute_wrapper(_refuse_audit_writes), pytest.raises(DatabaseError):
        services.restriction_end(restriction=restriction, actor=staff, reason="Lifted")
    restriction.refresh_from_db()
    assert restriction.ended_at is None

    services.restriction_end(restriction=restriction, actor=staff, reason="Lifted")
    assert AuditEvent.objects.filter(target_id=str(restriction.pk)).count() == 2
