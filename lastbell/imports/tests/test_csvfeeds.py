"""Plain CSV imports (attendance, buses) and the upload pages: check first, then import."""

import datetime as dt

import pytest
from django.urls import reverse

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.conftest import SCHOOL_DAY
from lastbell.imports import csvfeeds
from lastbell.plans.board import day_board
from lastbell.plans.models import LongTermDefault, PlanType

pytestmark = pytest.mark.django_db


def write(tmp_path, text, name="file.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_attendance_dry_run_then_apply_then_again(tmp_path, school, student, on_school_day):
    other = testing.make_student(school)
    path = write(tmp_path, "student_id,date,kind,excused,departs_at,reason\n"
                 f"{student.sis_id},2026-11-18,absent,yes,,Doctor\n"
                 f"{other.sis_id},2026-11-18,early_departure,no,13:15,\n"
                 f"NOPE,2026-11-18,absent,,,\n"
                 f"{other.sis_id},2026-02-30,absent,,,\n")  # fmt: skip
    dry = csvfeeds.import_attendance(path, school=school)
    assert dry.count("created") == 2 and dry.count("rejected") == 2
    assert not Absence.objects.exists()
    reasons = [r.reason for r in dry.rejected()]
    assert any("no student with id NOPE" in r for r in reasons)
    assert any("not a real date" in r for r in reasons)
    done = csvfeeds.import_attendance(path, school=school, apply=True)
    assert done.applied and Absence.objects.count() == 2
    rows = {r.student_id: r for r in day_board(school, SCHOOL_DAY).rows}
    assert rows[student.pk].plan_type == PlanType.ABSENCE
    assert (rows[other.pk].plan_type, rows[other.pk].time) == (PlanType.EARLY_DISMISSAL,
                                                               dt.time(13, 15))  # fmt: skip
    again = csvfeeds.import_attendance(path, school=school, apply=True)
    assert again.count("kept") == 2 and Absence.objects.count() == 2


@pytest.mark.parametrize(
    ("content", "encoding", "message"),
    [
        ("student_id;date\nS1;2026-11-18\n", "utf-8", "separated by semicolons"),
        ("name,day\nS1,2026-11-18\n", "utf-8", "missing the columns student_id, date"),
        ("student_id,date\nJosé,2026-11-18\n", "latin-1", "is not UTF-8"),
        ("", "utf-8", "is empty"),
    ],
)
def test_a_bad_file_imports_nothing_and_says_why(tmp_path, school, student, content, encoding,
                                                 message):  # fmt: skip
    report = csvfeeds.import_attendance(write(tmp_path, content, encoding=encoding),
                                        school=school, apply=True)  # fmt: skip
    assert not report.ok and message in str(report.file_errors[0])
    assert not Absence.objects.exists()


def test_a_file_too_large_is_refused(tmp_path, school, student):
    path = write(tmp_path, "student_id,date\n" + f"{student.sis_id},2026-11-18\n" * 100)
    report = csvfeeds.import_attendance(path, school=school, apply=True, max_bytes=100)
    assert not report.ok and "more than" in str(report.file_errors[0])
    assert not Absence.objects.exists()


def test_duplicate_rows_are_rejected(tmp_path, school, student, on_school_day):
    row = f"{student.sis_id},2026-11-18\n"
    report = csvfeeds.import_attendance(write(tmp_path, "student_id,date\n" + row * 2),
                                        school=school, apply=True)  # fmt: skip
    assert report.count("created") == 1
    assert "already in the file" in report.rejected()[0].reason


def test_the_bus_file_follows_the_feed_rules(tmp_path, school, student, staff, on_school_day):
    from lastbell.plans.services import PlanSpec, default_set

    walker = testing.make_student(school)
    default_set(student=walker, starts_on=SCHOOL_DAY, actor=staff,
                days={d: PlanSpec(PlanType.WALK) for d in range(5)})  # fmt: skip
    path = write(tmp_path, "student_id,bus,route_name,weekdays,direction\n"
                 f"{student.sis_id},12,North loop,Mon-Wed,\n"
                 f"{student.sis_id},7,Harbor,\"Thu, Fri\",from_school\n"
                 f"{student.sis_id},99,,Mon-Fri,to_school\n"
                 f"{walker.sis_id},12,,,\n"
                 f"{student.sis_id},5,,Someday,\n")  # fmt: skip
    report = csvfeeds.import_buses(path, school=school, apply=True)
    assert report.applied
    assert report.count("skipped") == 1 and report.count("rejected") == 1
    assert [r.key for r in report.rows if r.outcome == "kept"] == [walker.sis_id]
    row = day_board(school, SCHOOL_DAY, student_ids=[student.pk]).rows[0]
    assert (row.plan_type, row.bus_number) == (PlanType.BUS, "12")
    thursday = day_board(school, SCHOOL_DAY + dt.timedelta(days=1), student_ids=[student.pk])
    assert thursday.rows[0].bus_number == "7"
    assert day_board(school, SCHOOL_DAY, student_ids=[walker.pk]).rows[0].plan_type == "walk"


def test_templates_download_with_their_columns(client, staff, school):
    client.force_login(staff)
    for kind, columns in (("attendance", csvfeeds.ATTENDANCE_COLUMNS),
                          ("bus", csvfeeds.BUS_COLUMNS)):  # fmt: skip
        response = client.get(reverse("imports:template", args=[school.pk, kind]))
        assert response.status_code == 200
        assert response.content.decode().splitlines()[0] == ",".join(columns)


def test_other_schools_staff_and_teachers_cannot_import(client, other_staff, teacher, school):
    url = reverse("imports:school", args=[school.pk])
    client.force_login(other_staff)
    assert client.get(url).status_code == 404
    client.force_login(teacher)
    assert client.get(url).status_code == 403


def test_the_roster_page_is_for_district_admins(client, staff, district_admin, district):
    url = reverse("imports:roster", args=[district.pk])
    client.force_login(staff)
    assert client.get(url).status_code == 404
    client.force_login(district_admin)
    assert client.get(url).status_code == 200
    assert LongTermDefault.objects.count() == 0
