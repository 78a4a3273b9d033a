"""The office sets a day's attendance from the student's page: audited, and kept from imports."""

import datetime as dt

import pytest
from django.urls import reverse

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.api.models import ApiToken, Permission
from lastbell.attendance.models import Absence
from lastbell.attendance.services import AbsenceSpec, absence_record
from lastbell.audit.models import AuditEvent
from lastbell.conftest import SCHOOL_DAY
from lastbell.imports import csvfeeds

pytestmark = pytest.mark.usefixtures("on_school_day")


def edit_url(student, **query):
    url = reverse("attendance:edit", args=[student.school_id, student.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def post(**fields):
    return {"date": "2026-11-18", "category": "absent_unexcused", "minutes": "",
            "departs_at": "", "reason": "", **fields}  # fmt: skip


def test_staff_excuse_an_absence_with_its_audit_event(client, school, student, staff):
    absence_record(student=student, spec=AbsenceSpec(date=SCHOOL_DAY), event_id="sis-1")
    client.force_login(staff)
    page = client.get(edit_url(student, on="2026-11-18")).content.decode()
    assert 'value="absent_unexcused" selected' in page
    response = client.post(edit_url(student), post(category="absent_excused", reason="Note"))
    assert response.status_code == 302
    absence = Absence.objects.get()
    assert (absence.excused, absence.source, absence.recorded_by) == (True, "staff", staff)
    event = AuditEvent.objects.get(action="attendance.absence.updated")
    assert (event.actor, event.via) == (staff, "web")
    assert (event.before["excused"], event.after["excused"]) == (False, True)
    student_page = client.get(reverse("plans:student", args=[school.pk, student.pk]))
    assert "Excused absence" in student_page.content.decode()


def test_a_staff_day_is_kept_from_imports_and_the_api(client, tmp_path, school, student, staff,
                                                      district, district_admin):  # fmt: skip
    client.force_login(staff)
    client.post(edit_url(student), post(category="tardy_excused", minutes="40"))
    path = tmp_path / "a.csv"
    for kind in ("absent", "present"):
        path.write_text(f"student_id,date,kind\n{student.sis_id},2026-11-18,{kind}\n")
        report = csvfeeds.import_attendance(path, school=school, apply=True)
        ((outcome, reason),) = [(r.outcome, r.reason) for r in report.rows]
        assert outcome == "kept" and reason.startswith("staff changed this day")
    _, secret = ApiToken.issue(district=district, name="SIS", created_by=district_admin,
                               permissions=[Permission.ATTENDANCE_WRITE])  # fmt: skip
    body = {"event_id": "x1", "student_id": student.sis_id, "date": "2026-11-18",
            "kind": "present"}  # fmt: skip
    for kind in ("absent", "present"):
        response = client.post("/api/v1/attendance/events", {**body, "kind": kind},
                               content_type="application/json",
                               headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
        assert response.json()["outcome"] == "kept" and "by hand" in response.json()["note"]
    absence = Absence.objects.get()
    assert (absence.kind, absence.excused, absence.minutes) == ("tardy", True, 40)


def test_staff_mark_a_day_present(client, student, staff):
    absence_record(student=student, spec=AbsenceSpec(date=SCHOOL_DAY))
    client.force_login(staff)
    client.post(edit_url(student), post(category="present"))
    assert not Absence.objects.exists()
    event = AuditEvent.objects.get(action="attendance.absence.deleted")
    assert event.actor == staff


@pytest.mark.parametrize(("fields", "message"), [
    ({"category": "early_departure_unexcused"}, "Give the time the student leaves."),
    ({"category": "tardy_unexcused"}, "Give how many minutes late the student was."),
    ({"category": "tardy_unexcused", "minutes": "10", "date": "2026-11-19"},
     "A tardy can only be recorded once it has happened."),
    ({"date": "2026-07-01"}, "was not enrolled yet on that day"),
    ({"date": "2026-13-01"}, "Enter a date such as 2026-11-18."),
    ({"category": "tardy_unexcused", "minutes": "many"}, "Give a whole number of minutes"),
])  # fmt: skip
def test_wrong_input_is_explained_and_changes_nothing(client, student, staff, fields, message):
    client.force_login(staff)
    response = client.post(edit_url(student), post(**fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Absence.objects.exists() and not AuditEvent.objects.exists()


def test_who_may_set_attendance(client, school, student, teacher, other_staff):
    client.force_login(teacher)
    assert client.post(edit_url(student), post()).status_code == 403
    client.force_login(other_staff)
    assert client.post(edit_url(student), post()).status_code == 404
    client.force_login(testing.make_guardian(student).user)
    assert client.post(edit_url(student), post()).status_code == 404
    assert not Absence.objects.exists()
    client.force_login(testing.make_staff(school, Role.SCHOOL_ADMIN))
    assert client.post(edit_url(student), post()).status_code == 302
    assert Absence.objects.get().date == dt.date(2026, 11, 18)
