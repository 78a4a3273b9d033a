"""Erasing a departed student's personal data: district admins only, after a confirmation,
audited without personal data; names and contacts go, every count stays the same."""

import datetime as dt

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Q
from django.urls import reverse

from lastbell import testing
from lastbell.accounts.models import Role, User
from lastbell.attendance.models import Absence
from lastbell.audit.models import AuditEvent
from lastbell.dismissal import reports
from lastbell.messaging.models import Message, Status
from lastbell.people.models import Guardian, Student
from lastbell.privacy.models import Erasure
from lastbell.privacy.services import student_erase
from lastbell.privacy.tests.support import LEFT_ON, TODAY
from lastbell.truancy import chronic, tracker
from lastbell.truancy.models import Letter

NOT_HERE: set[str] = set()  # every table, the audit log's events about the student included
TEXT = models.CharField | models.TextField | models.JSONField


def text_holding(needles: list[str]) -> list[tuple[str, str, str]]:
    """(model, field, needle) for every text value in the database that holds a needle."""
    found = []
    for model in apps.get_models():
        if model._meta.label in NOT_HERE:
            continue
        fields = [f.attname for f in model._meta.concrete_fields if isinstance(f, TEXT)]
        if not fields:
            continue
        for row in model._default_manager.values_list(*fields):
            for name, value in zip(fields, row, strict=True):
                text = str(value) if value is not None else ""
                found += [(model._meta.label, name, n) for n in needles if n in text]
    return found


def counts(school, student) -> dict:
    """The anonymous figures the reports and statistics give, without names."""
    start, end = dt.date(2026, 8, 1), TODAY
    chronic_now = chronic.report(district=school.district, on=LEFT_ON)
    due_then = tracker.due(district=school.district, level=1, on=LEFT_ON)
    _policy, counted = tracker.standing(Student.objects.get(pk=student.pk), on=LEFT_ON)
    return {
        "completion": reports.completion_by_day(school, start, end),
        "late": reports.late_by_week(school, start, end),
        "emergencies": [(d.date, d.released) for d in reports.emergency_days(school, start, end)],
        "attendance_days": list(
            Absence.objects.filter(student__school=school).values("date", "kind", "excused")
            .annotate(n=Count("id")).order_by("date", "kind", "excused")
        ),
        "truancy_due": sorted((r.student_id, r.count, r.reached, r.issued) for r in due_then),
        "truancy_counted": counted,
        "letters": list(Letter.objects.filter(school=school).values("level", "count", "dates")
                        .annotate(n=Count("id")).order_by("level")),
        "chronic_rows": sorted((r.student_id, r.absent, r.days, r.tier)
                               for r in chronic_now.rows),
        "chronic_now": (chronic_now.now.counts, chronic_now.now.enrolled, chronic_now.too_new),
        "chronic_months": [(p.on, p.counts, p.enrolled) for p in chronic_now.months],
    }  # fmt: skip


def test_it_erases_names_and_contacts_and_keeps_every_count(
    record, school, district, django_capture_on_commit_callbacks
):
    admin = testing.make_district_admin(district)
    before = counts(school, record.student)
    assert any(row[0] == record.student.pk for row in before["chronic_rows"])
    assert len(before["truancy_counted"]) == 4 and before["letters"]
    assert text_holding(record.personal())  # the record holds them before

    with django_capture_on_commit_callbacks(execute=True):
        student_erase(student=record.student, actor=admin)

    assert text_holding(record.personal()) == []
    assert counts(school, record.student) == before
    ana = Student.objects.get(pk=record.student.pk)
    assert (ana.grade, ana.homeroom_id, ana.enrolled_on, ana.withdrawn_on) == (
        record.student.grade, record.student.homeroom_id, record.student.enrolled_on, LEFT_ON
    )  # fmt: skip
    # Maria had no other child: her sign-in is gone. Jorge's other child stays: so does he.
    maria = User.objects.get(pk=record.maria.user_id)
    assert not maria.is_active and not maria.has_usable_password()
    jorge = Guardian.objects.get(pk=record.jorge.pk)
    assert (jorge.first_name, jorge.mobile) == ("Jorge", "555-0177")
    assert list(jorge.students.all()) == [record.sibling]
    # Messages still waiting have nobody to go to now, and say so.
    waiting = Message.objects.filter(Q(student=record.student) | Q(guardian=record.maria))
    assert {m.status for m in waiting} == {Status.FAILED}
    assert {m.last_error for m in waiting} == {"Not sent: the family's data was erased."}
    # The photo and the court order files are deleted from the disk.
    assert not record.adult.photo.storage.exists(record.adult.photo.name)
    assert not record.restriction.court_order_file.storage.exists(
        record.restriction.court_order_file.name
    )


def test_the_erasure_is_audited_without_personal_data(record, district):
    admin = testing.make_district_admin(district)

    erasure = student_erase(student=record.student, actor=admin)

    event = AuditEvent.objects.get(action="privacy.student.erased")
    assert (event.actor, event.student_id, event.target_id) == (admin, record.student.pk,
                                                                str(erasure.pk))  # fmt: skip
    written = f"{event.target_label} {event.before} {event.after}"
    assert not [n for n in record.personal() if n in written], written
    assert event.after["guardians_erased"] == 1


def test_it_refuses_a_student_still_enrolled_and_changes_nothing(record, district):
    admin = testing.make_district_admin(district)
    for withdrawn_on in (None, TODAY, TODAY + dt.timedelta(days=3)):
        Student.objects.filter(pk=record.student.pk).update(withdrawn_on=withdrawn_on)
        with pytest.raises(ValidationError, match="Only a student who has left"):
            student_erase(student=record.student, actor=admin)
    assert Student.objects.get(pk=record.student.pk).first_name == "Ana"
    assert not Erasure.objects.exists()
    assert not AuditEvent.objects.filter(action="privacy.student.erased").exists()


def test_it_erases_once(record, district):
    admin = testing.make_district_admin(district)
    student_erase(student=record.student, actor=admin)
    with pytest.raises(ValidationError, match="already erased"):
        student_erase(student=record.student, actor=admin)
    assert AuditEvent.objects.filter(action="privacy.student.erased").count() == 1


def _url(record):
    return reverse("privacy:erase", args=[record.student.school_id, record.student.pk])


def test_only_a_district_admin_erases(client, record, school, staff, other_staff):
    school_admin = testing.make_staff(school, Role.SCHOOL_ADMIN)
    for user, status in [(staff, 403), (school_admin, 403), (other_staff, 404)]:
        client.force_login(user)
        assert client.get(_url(record)).status_code == status, user
        assert client.post(_url(record), {"sis_id": "S-ANA-77"}).status_code == status, user
    assert Student.objects.get(pk=record.student.pk).first_name == "Ana"
    # The page offers the erasure to district admins only.
    client.force_login(school_admin)
    page = client.get(reverse("privacy:student", args=[school.pk, record.student.pk]))
    assert _url(record) not in page.content.decode()


def test_a_district_admin_confirms_with_the_student_id(client, record, school, district):
    admin = testing.make_district_admin(district)
    client.force_login(admin)
    page = client.get(reverse("privacy:student", args=[school.pk, record.student.pk]))
    assert _url(record) in page.content.decode()
    assert client.get(_url(record)).status_code == 200

    wrong = client.post(_url(record), {"sis_id": "S-ANA-78"})
    assert wrong.status_code == 400
    assert "That is not this student" in wrong.content.decode()
    assert Student.objects.get(pk=record.student.pk).first_name == "Ana"

    done = client.post(_url(record), {"sis_id": "S-ANA-77"})
    assert done.status_code == 302
    assert Student.objects.get(pk=record.student.pk).first_name == "Erased"
    assert Erasure.objects.get().by == admin


def test_the_page_says_why_an_enrolled_student_cannot_be_erased(client, school, district,
                                                                  student):  # fmt: skip
    client.force_login(testing.make_district_admin(district))
    page = client.get(reverse("privacy:student", args=[school.pk, student.pk]))
    assert "Only a student who has left the school can be erased" in page.content.decode()
    response = client.post(reverse("privacy:erase", args=[school.pk, student.pk]),
                           {"sis_id": student.sis_id})  # fmt: skip
    assert response.status_code == 302
    assert Student.objects.get(pk=student.pk).first_name == "Ana"
