"""A records request: everything held about one student, as one ZIP, for admins only."""

import csv
import io
import json
import zipfile

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.attendance.models import Absence
from lastbell.audit.models import AuditEvent
from lastbell.people.models import Student
from lastbell.privacy.export import EXPORTED_MODELS, SECTIONS, student_export_zip
from lastbell.privacy.tests.support import PDF, PNG


def _points_at(model, targets) -> bool:
    """A foreign key, one-to-one or many-to-many of `model` (not a reverse one) to a target."""
    return any(
        field.is_relation and (field.concrete or field.many_to_many)
        and not field.auto_created and field.related_model in targets
        for field in model._meta.get_fields()
    )  # fmt: skip


def test_it_exports_every_model_that_points_at_a_student():
    """A model with a link to Student, or to a row that belongs to one student (a letter's
    conference, a default's days), must be a part of the export: add it to SECTIONS."""
    direct = {m for m in apps.get_models() if _points_at(m, {Student})}
    owned = {m for m in direct if any(
        f.name == "student" and not f.null for f in m._meta.concrete_fields
    )}  # fmt: skip
    one_step = {m for m in apps.get_models() if _points_at(m, owned)}

    missing = {m._meta.label for m in (direct | one_step) - EXPORTED_MODELS}

    assert not missing, f"Not in the student export (lastbell/privacy/export.py): {missing}"
    assert len(direct) >= 12  # the introspection finds the links it should


def _zip(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


def test_it_puts_the_whole_record_in_one_zip(record):
    archive = _zip(student_export_zip(record.student))

    document = json.loads(archive.read("student.json"))
    [row] = document["student"]
    assert (row["first_name"], row["last_name"], row["sis_id"]) == ("Ana", "Rivera-Solis",
                                                                    "S-ANA-77")  # fmt: skip
    assert {g["first_name"] for g in document["guardians"]} == {"Maria", "Jorge"}
    assert [a["phone"] for a in document["pickup_adults"]] == ["555-0199"]
    assert [r["person_name"] for r in document["custody_restrictions"]] == ["Victor Vance"]
    assert len(document["attendance"]) == 4  # not the sibling's absence
    assert [d["note"] for d in document["long_term_default_days"]] == ["gate code 4411"]
    assert len(document["plan_changes"]) == 1 and len(document["program_enrollments"]) == 1
    kinds = sorted(e["kind"] for e in document["dismissal_events"])
    assert kinds == ["checked_in", "late", "released", "released"]
    assert all(e["student_id"] == record.student.pk for e in document["dismissal_events"])
    assert [a["adult_name"] for a in document["dismissal_check_ins"]] == ["Carmen Ruiz"]
    # About Ana (the plan, the late flags): not Maria's invitation, which names no student.
    assert {m["student_id"] for m in document["messages"]} == {record.student.pk}
    assert any("Carmen Ruiz" in m["body"] for m in document["messages"])
    assert len(document["truancy_letters"]) == 1
    assert [c["notes"] for c in document["truancy_conferences"]] == ["Ana is sad today, Maria"]
    assert [r["board"] for r in document["truancy_referrals"]] == ["SARB"]
    assert {s.name for s in SECTIONS} <= set(document)

    # Every part is a CSV too, with the same rows.
    for section in SECTIONS:
        rows = list(csv.DictReader(io.StringIO(archive.read(f"csv/{section.name}.csv").decode())))
        assert len(rows) == len(document[section.name]), section.name
    adults = list(csv.DictReader(io.StringIO(archive.read("csv/pickup_adults.csv").decode())))
    assert adults[0]["last_name"] == "Ruiz"

    # The photo and the court order, as stored.
    assert archive.read(f"files/pickup-adult-photos/{record.adult.pk}.png") == PNG
    assert archive.read(f"files/court-orders/{record.restriction.pk}.pdf") == PDF


def test_it_keeps_spreadsheets_from_running_a_cell(record):
    record.adult.note = "=HYPERLINK(1)"
    record.adult.save()

    archive = _zip(student_export_zip(record.student))

    adults = list(csv.DictReader(io.StringIO(archive.read("csv/pickup_adults.csv").decode())))
    assert adults[0]["note"] == "'=HYPERLINK(1)"


def _export_url(record):
    return reverse("privacy:export", args=[record.student.school_id, record.student.pk])


def test_it_opens_the_export_to_admins_only_and_audits_it(client, record, school, staff,
                                                          teacher, other_staff):  # fmt: skip
    school_admin = testing.make_staff(school, Role.SCHOOL_ADMIN)
    district_admin = testing.make_district_admin(school.district)
    page = reverse("privacy:student", args=[school.pk, record.student.pk])
    for user, status in [(staff, 403), (teacher, 403), (other_staff, 404),
                         (record.maria.user, 404)]:  # fmt: skip
        client.force_login(user)
        assert client.get(page).status_code == status, user
        assert client.post(_export_url(record)).status_code == status, user
    assert not AuditEvent.objects.filter(action="privacy.student.exported").exists()

    for user in (school_admin, district_admin):
        client.force_login(user)
        assert client.get(page).status_code == 200
        response = client.post(_export_url(record))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/zip"
        assert "attachment" in response["Content-Disposition"]
        assert "student.json" in _zip(response.content).namelist()

    events = AuditEvent.objects.filter(action="privacy.student.exported", student=record.student)
    assert sorted(e.actor_id for e in events) == sorted([school_admin.pk, district_admin.pk])
    assert all("Ana" not in e.target_label for e in events)

    client.force_login(school_admin)
    assert client.get(_export_url(record)).status_code == 405  # a download is a POST


def test_the_command_writes_the_zip_and_audits_it(record, tmp_path):
    out = tmp_path / "ana.zip"

    call_command("student_export", str(record.student.school_id), "S-ANA-77", "-o", str(out),
                 stdout=io.StringIO())  # fmt: skip

    document = json.loads(_zip(out.read_bytes()).read("student.json"))
    assert document["student"][0]["sis_id"] == "S-ANA-77"
    assert AuditEvent.objects.filter(action="privacy.student.exported", via="system").count() == 1
    with pytest.raises(CommandError, match="exists already"):
        call_command("student_export", str(record.student.school_id), "S-ANA-77", "-o",
                     str(out))  # fmt: skip
    with pytest.raises(CommandError, match="No student"):
        call_command("student_export", str(record.student.school_id), "NOPE", "-o",
                     str(tmp_path / "x.zip"))  # fmt: skip


def test_the_export_costs_one_query_a_part_however_long_the_record(record):
    with CaptureQueriesContext(connection) as small:
        student_export_zip(record.student)
    Absence.objects.bulk_create(
        Absence(student=record.student, date=record.student.enrolled_on.replace(day=d))
        for d in range(2, 28)
    )
    with CaptureQueriesContext(connection) as large:
        archive = _zip(student_export_zip(record.student))

    assert len(large) == len(small) == len(SECTIONS)
    assert len(json.loads(archive.read("student.json"))["attendance"]) == 4 + 26
