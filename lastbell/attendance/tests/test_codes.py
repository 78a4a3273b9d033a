"""A district's attendance codes: what its systems' codes mean, for every way attendance
comes in (Ed-Fi files, the API, CSV); an unknown code is reported and changes nothing."""

import pytest
from django.urls import reverse

from lastbell.api.models import ApiToken, Permission
from lastbell.attendance.codes import CodeMap
from lastbell.attendance.models import Absence, AttendanceCode
from lastbell.attendance.services import attendance_codes_save
from lastbell.audit.models import AuditEvent
from lastbell.imports import csvfeeds
from lastbell.imports.edfi import import_edfi

pytestmark = pytest.mark.django_db
DESCRIPTOR = "uri://ed-fi.org/AttendanceEventCategoryDescriptor#"
NS = "http://ed-fi.org/5.2.0"


def test_the_defaults_read_ed_fi_descriptors_by_name_or_whole(district):
    codes = CodeMap.for_district(district)
    assert codes.category(DESCRIPTOR + "Tardy") == "tardy_unexcused"
    assert codes.category("  unexcused   ABSENCE ") == "absent_unexcused"
    assert codes.category(DESCRIPTOR + "In Attendance") == "present"
    assert codes.category("Sick") is None and codes.category("") is None


def test_a_districts_own_codes_replace_the_defaults(district, district_admin):
    attendance_codes_save(district=district, actor=district_admin, codes=[
        ("T", "tardy_unexcused"), ("uri://sis.example/Att#EX", "absent_excused"),
    ])  # fmt: skip
    codes = CodeMap.for_district(district)
    assert codes.category("t") == "tardy_unexcused"
    assert codes.category("uri://sis.example/Att#EX") == "absent_excused"
    assert codes.category("EX") is None  # the whole descriptor was mapped, not the name
    assert codes.category(DESCRIPTOR + "Tardy") is None  # dropped with the defaults
    attendance_codes_save(district=district, actor=district_admin, codes=[])
    assert CodeMap.for_district(district).category(DESCRIPTOR + "Tardy") == "tardy_unexcused"


def test_a_csv_file_takes_the_districts_codes(tmp_path, district, school, student,
                                              district_admin):  # fmt: skip
    attendance_codes_save(district=district, actor=district_admin, codes=[
        ("T", "tardy_unexcused"), ("AE", "absent_excused"),
    ])  # fmt: skip
    path = tmp_path / "a.csv"
    path.write_text(
        "student_id,date,kind,excused,minutes\n"
        f"{student.sis_id},2026-11-16,T,,35\n"
        f"{student.sis_id},2026-11-17,AE,,\n"
        f"{student.sis_id},2026-11-18,AE,no,\n"  # the excused column, when filled, wins
        f"{student.sis_id},2026-11-19,SICK,,\n"
        f"{student.sis_id},2026-11-20,tardy,,soon\n"
    )
    report = csvfeeds.import_attendance(path, school=school, apply=True)
    rows = {a.date.day: (a.kind, a.excused, a.minutes) for a in Absence.objects.all()}
    assert rows == {16: ("tardy", False, 35), 17: ("absent", True, None),
                    18: ("absent", False, None)}  # fmt: skip
    assert [r.reason for r in report.rejected()] == [
        "the kind 'SICK' is not absent, tardy, early_departure or present, nor one of the "
        "district's attendance codes (AE, T); a district admin can add it under Attendance "
        "codes",
        "minutes should be a number of minutes like 45, not 'soon'",
    ]


def event_xml(school_code, sis, category, minutes=""):
    extra = f"<SchoolAttendanceDuration>{minutes}</SchoolAttendanceDuration>" if minutes else ""
    return (f"<StudentSchoolAttendanceEvent><AttendanceEvent><EventDate>2026-11-18</EventDate>"
            f"<AttendanceEventCategory>{category}</AttendanceEventCategory></AttendanceEvent>"
            f"<StudentReference><StudentIdentity><StudentUniqueId>{sis}</StudentUniqueId>"
            "</StudentIdentity></StudentReference><SchoolReference><SchoolIdentity><SchoolId>"
            f"{school_code}</SchoolId></SchoolIdentity></SchoolReference>{extra}"
            "</StudentSchoolAttendanceEvent>")  # fmt: skip


def test_an_ed_fi_file_takes_the_districts_codes(tmp_path, district, school, district_admin):
    from lastbell import testing

    school.code = "900"
    school.save()
    ana, ben = testing.make_student(school, sis_id="A1"), testing.make_student(school, sis_id="B1")
    attendance_codes_save(district=district, actor=district_admin, codes=[
        ("uri://sis.example/AttendanceEventCategoryDescriptor#LATE", "tardy_unexcused"),
    ])  # fmt: skip
    body = (event_xml("900", "A1", "uri://sis.example/AttendanceEventCategoryDescriptor#LATE",
                      minutes="50")
            + event_xml("900", "B1", DESCRIPTOR + "Unexcused Absence"))  # fmt: skip
    path = tmp_path / "att.xml"
    path.write_text(f'<InterchangeStudentAttendance xmlns="{NS}">{body}'
                    "</InterchangeStudentAttendance>")  # fmt: skip
    report = import_edfi(path, district=district, apply=True)
    assert (Absence.objects.get(student=ana).kind, Absence.objects.get(student=ana).minutes) == (
        "tardy",
        50,
    )
    assert not Absence.objects.filter(student=ben).exists()
    (rejected,) = report.rejected()
    assert rejected.reason.startswith("the attendance code 'Unexcused Absence' is not one this "
                                      "district uses")  # fmt: skip


def test_the_api_takes_the_districts_codes(client, district, school, student, district_admin):
    school.code = "900"
    school.save()
    attendance_codes_save(district=district, actor=district_admin,
                          codes=[("Tardy", "tardy_excused")])  # fmt: skip
    _, secret = ApiToken.issue(district=district, name="SIS", created_by=district_admin,
                               permissions=[Permission.ATTENDANCE_WRITE])  # fmt: skip
    event = {"studentReference": {"studentUniqueId": student.sis_id},
             "schoolReference": {"schoolId": 900}, "eventDate": "2026-11-18",
             "attendanceEventCategoryDescriptor": DESCRIPTOR + "Tardy",
             "schoolAttendanceDuration": 35}  # fmt: skip

    def send(body):
        return client.post("/api/v1/attendance/edfi/studentSchoolAttendanceEvents", body,
                           content_type="application/json",
                           headers={"Authorization": f"Bearer {secret}"})  # fmt: skip

    response = send(event)
    assert response.status_code == 201
    assert response.json()["absence"]["minutes"] == 35
    absence = Absence.objects.get()
    assert (absence.kind, absence.excused, absence.minutes) == ("tardy", True, 35)
    bad = send({**event, "attendanceEventCategoryDescriptor": DESCRIPTOR + "Excused Absence"})
    assert bad.status_code == 422
    assert "'Excused Absence' is not one this district uses" in bad.json()["errors"][0]["message"]
    assert Absence.objects.get().kind == "tardy"


def test_a_district_admin_edits_the_codes(client, district, district_admin, staff):
    url = reverse("attendance:codes", args=[district.pk])
    client.force_login(district_admin)
    page = client.get(url).content.decode()
    assert 'value="Unexcused Absence"' in page and "These are the defaults" in page
    data = {"codes-TOTAL_FORMS": "3", "codes-INITIAL_FORMS": "0",
            "codes-0-code": "T", "codes-0-category": "tardy_unexcused",
            "codes-1-code": "A", "codes-1-category": "absent_unexcused",
            "codes-2-code": "", "codes-2-category": ""}  # fmt: skip
    assert client.post(url, data).status_code == 302
    assert sorted(AttendanceCode.objects.values_list("code", "category")) == [
        ("A", "absent_unexcused"), ("T", "tardy_unexcused")]  # fmt: skip
    event = AuditEvent.objects.get(action="attendance.codes.saved")
    assert event.actor == district_admin and event.after == {"A": "absent_unexcused",
                                                             "T": "tardy_unexcused"}  # fmt: skip
    twice = {**data, "codes-1-code": " t "}
    response = client.post(url, twice)
    assert response.status_code == 400
    assert "is in the list twice" in response.content.decode()
    no_meaning = {**data, "codes-1-category": ""}
    assert "Choose what “A” means." in client.post(url, no_meaning).content.decode()
    assert AttendanceCode.objects.count() == 2 and AuditEvent.objects.count() == 1
    client.force_login(staff)
    assert client.get(url).status_code == 404
