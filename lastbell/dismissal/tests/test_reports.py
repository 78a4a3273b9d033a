"""Dismissal reports (DESIGN.md §3, issue 5 §8): completion time per day, late pickups per
week, emergency days and who picked up each student, from events seeded over several days."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.dismissal import report_views, reports, services
from lastbell.dismissal.models import CustodyEvent, Verification
from lastbell.dismissal.services import Adult

Kind, To = CustodyEvent.Kind, CustodyEvent.To
PACIFIC = dt.timezone(dt.timedelta(hours=-8))
TODAY = dt.date(2026, 11, 25)  # a Wednesday; the fixture schools dismiss at 3 pm Pacific


def at(date, hour, minute=0):
    return dt.datetime.combine(date, dt.time(hour, minute), tzinfo=PACIFIC)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(at(TODAY, 9), tick=False)


@pytest.fixture
def ben(school):
    return testing.make_student(school, first="Ben", last="Okafor")


@pytest.fixture
def cy(school):
    return testing.make_student(school, first="Cy", last="Moss")


@pytest.fixture
def seeded(clock, school, student, guardian, ben, cy, staff):
    """Four days over two ISO weeks (2026-W47 and W48):

    Mon Nov 16  Ana to Maria 3:02, Ben and Cy walk 3:05             3 min, nobody late
    Tue Nov 17  Ana to Maria 2:55 (undone), again 3:00; Ben and Cy
                flagged late at 3:11, Ben to Maria 3:25, Cy walks 3:40  40 min, 2 late
    Wed Nov 18  emergency: Ana to Maria at 2:30 with a reunifier     0 min
    Mon Nov 23  all three flagged at 3:11, walk at 3:30              0 min, 3 late
    """
    maria = Adult(To.GUARDIAN, guardian)
    day = services.day_of(school, dt.date(2026, 11, 16))
    services.release(day, student, adult=maria, actor=staff, verification=Verification.QR,
                     now=at(day.date, 15, 2))  # fmt: skip
    services.release_group(day, [ben.pk, cy.pk], to=To.WALK, label="Walkers", actor=staff,
                           now=at(day.date, 15, 5))  # fmt: skip

    day = services.day_of(school, dt.date(2026, 11, 17))
    wrong = services.release(day, student, adult=maria, actor=staff,
                             verification=Verification.KNOWN, now=at(day.date, 14, 55))  # fmt: skip
    services.undo(wrong, actor=staff, reason="Wrong child", now=at(day.date, 14, 56))
    services.release(day, student, adult=maria, actor=staff, verification=Verification.KNOWN,
                     now=at(day.date, 15))  # fmt: skip
    assert sorted(services.flag_late(day, now=at(day.date, 15, 11))) == sorted([ben.pk, cy.pk])
    services.release_group(day, [ben.pk], to=To.BUS, label="=SUM(1)", actor=staff,
                           now=at(day.date, 15, 25))  # fmt: skip
    services.release_group(day, [cy.pk], to=To.WALK, label="Walkers", actor=staff,
                           now=at(day.date, 15, 40))  # fmt: skip

    day = services.day_of(school, dt.date(2026, 11, 18))
    services.emergency_start(day, actor=staff, message="Go to the church lot.",
                             site="St. Mark's", now=at(day.date, 14))  # fmt: skip
    services.release(day, student, adult=maria, actor=staff, verification=Verification.PHOTO_ID,
                     reunifier="Ms. Lee", comfortable=True, now=at(day.date, 14, 30))  # fmt: skip

    day = services.day_of(school, dt.date(2026, 11, 23))
    assert len(services.flag_late(day, now=at(day.date, 15, 11))) == 3
    services.release_group(day, [student.pk, ben.pk, cy.pk], to=To.WALK, label="Walkers",
                           actor=staff, now=at(day.date, 15, 30))  # fmt: skip


def url(name, school, **query):
    path = reverse(f"dismissal:{name}", args=[school.id])
    return path, query


def get(client, name, school, **query):
    path, query = url(name, school, **query)
    return client.get(path, query)


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


# --- who may -------------------------------------------------------------------------------


PAGES = ["reports", "reports_pickups", "reports_completion_csv", "reports_late_csv",
         "reports_emergencies_csv", "reports_pickups_csv"]  # fmt: skip


def test_it_opens_the_reports_to_the_office_only(client, clock, school, staff, teacher,
                                                 other_staff, guardian):  # fmt: skip
    admin = testing.make_staff(school, Role.SCHOOL_ADMIN)
    for user, status in [(staff, 200), (admin, 200), (teacher, 403), (other_staff, 404),
                         (guardian.user, 404)]:  # fmt: skip
        client.force_login(user)
        for name in PAGES:
            assert get(client, name, school).status_code == status, (user, name)
    client.logout()
    assert get(client, "reports", school).status_code == 302


# --- the figures ---------------------------------------------------------------------------


def test_completion_runs_from_the_first_release_to_the_last(client, seeded, school, staff):
    client.force_login(staff)
    rows = csv_rows(get(client, "reports_completion_csv", school))
    assert rows[0] == ["Date", "Mode", "Dismissal time", "First release", "Last release",
                       "Minutes first to last", "Last release, minutes after dismissal",
                       "Released", "Released late"]  # fmt: skip
    assert rows[1:] == [
        ["2026-11-16", "Normal", "15:00", "15:02:00", "15:05:00", "3", "5", "3", "0"],
        ["2026-11-17", "Normal", "15:00", "15:00:00", "15:40:00", "40", "40", "3", "2"],
        ["2026-11-18", "Emergency", "15:00", "14:30:00", "14:30:00", "0", "-30", "1", "0"],
        ["2026-11-23", "Normal", "15:00", "15:30:00", "15:30:00", "0", "30", "3", "3"],
    ]
    page = get(client, "reports", school).content.decode()
    assert page.count('<svg class="bar"') == 4
    assert '<rect x="0" y="0" height="10" width="100.0">' in page  # the 40-minute day
    assert '<rect x="0" y="0" height="10" width="7.5">' in page  # 3 of 40 minutes
    assert "40 min" in page and "style=" not in page


def test_late_pickups_are_counted_per_iso_week(client, seeded, school, staff):
    client.force_login(staff)
    rows = csv_rows(get(client, "reports_late_csv", school))
    assert rows[0] == ["ISO week", "Week of", "Released late", "Flagged still on campus"]
    weeks = {row[0]: row[1:] for row in rows[1:]}
    assert len(weeks) == 9  # the eight weeks to today, which start on a Thursday
    assert weeks["2026-W47"] == ["2026-11-16", "2", "2"]
    assert weeks["2026-W48"] == ["2026-11-23", "3", "3"]
    assert weeks["2026-W46"] == ["2026-11-09", "0", "0"]
    page = get(client, "reports", school).content.decode()
    assert 'data-testid="late-2026-W48">3 · 3' in page
    assert 'class="late-released" x="0" y="0" height="4.5" width="66.7"' in page  # 2 of 3


def test_the_range_narrows_every_report(client, seeded, school, staff):
    client.force_login(staff)
    week47 = {"start": "2026-11-16", "end": "2026-11-22"}
    rows = csv_rows(get(client, "reports_late_csv", school, **week47))
    assert rows[1:] == [["2026-W47", "2026-11-16", "2", "2"]]
    rows = csv_rows(get(client, "reports_completion_csv", school, **week47))
    assert [row[0] for row in rows[1:]] == ["2026-11-16", "2026-11-17", "2026-11-18"]
    response = get(client, "reports_completion_csv", school, **week47)
    assert response["Content-Disposition"] == (
        'attachment; filename="Lincoln Elementary dismissal completion 2026-11-16 to '
        '2026-11-22.csv"'
    )
    page = get(client, "reports", school, start="2026-11-20", end="2026-11-10").content.decode()
    assert "The first day comes after the last" in page
    assert "Oct 1, 2026 to Nov 25, 2026" in page  # the last eight weeks instead


def test_emergency_days_link_to_their_log(client, seeded, school, staff):
    client.force_login(staff)
    page = get(client, "reports", school).content.decode()
    log = reverse("dismissal:emergency_log_pdf", args=[school.id]) + "?date=2026-11-18"
    assert log in page and "St. Mark&#x27;s" in page
    rows = csv_rows(get(client, "reports_emergencies_csv", school))
    assert rows[1] == ["2026-11-18", "14:00:00", "Dana Office", "St. Mark's",
                       "Go to the church lot.", "", "", "1"]  # fmt: skip
    assert client.get(log).content.startswith(b"%PDF")


def test_who_picked_up_each_student(client, seeded, school, student, ben, staff):
    client.force_login(staff)
    page = get(client, "reports_pickups", school).content.decode()
    assert "3 students released" in page
    assert "Maria Lopez ×3 · Walkers ×1" in page  # the undone release is left out
    found = get(client, "reports_pickups", school, q="okaf").content.decode()
    assert "Okafor, Ben" in found and "Rivera, Ana" not in found
    rows = csv_rows(get(client, "reports_pickups_csv", school, q="ana rivera"))
    assert rows[0] == ["Student ID", "Last name", "First name", "Date", "Time", "Released to",
                       "Kind", "Verification", "Reunifier", "Late", "By"]  # fmt: skip
    assert [row[3:10] for row in rows[1:]] == [
        ["2026-11-16", "15:02:00", "Maria Lopez", "Guardian", "QR code", "", ""],
        ["2026-11-17", "15:00:00", "Maria Lopez", "Guardian", "Known to staff", "", ""],
        ["2026-11-18", "14:30:00", "Maria Lopez", "Guardian", "Photo ID", "Ms. Lee", ""],
        ["2026-11-23", "15:30:00", "Walkers", "Walkers", "", "", "yes"],
    ]
    assert rows[1][:3] == [student.sis_id, "Rivera", "Ana"]


def test_the_pickups_csv_keeps_formulas_as_text(client, seeded, school, staff):
    client.force_login(staff)
    rows = csv_rows(get(client, "reports_pickups_csv", school, q="okafor"))
    assert rows[2][3:8] == ["2026-11-17", "15:25:00", "'=SUM(1)", "Bus", ""]


def test_the_pickups_are_paginated_by_student(client, seeded, school, staff, monkeypatch):
    monkeypatch.setattr(report_views, "STUDENTS_PER_PAGE", 2)
    client.force_login(staff)
    first = get(client, "reports_pickups", school).content.decode()
    assert "Moss, Cy" in first and "Okafor, Ben" in first and "Rivera, Ana" not in first
    assert "Page 1 of 2" in first
    second = get(client, "reports_pickups", school, page="2").content.decode()
    assert "Rivera, Ana" in second and "Moss, Cy" not in second


# --- cost ------------------------------------------------------------------------------------


def _seed_days(school, staff, students, count):
    """`count` school days before today, each with a release per student and a late flag."""
    date, seeded_days = TODAY, 0
    while seeded_days < count:
        date -= dt.timedelta(days=1)
        day = services.day_of(school, date)
        if day is None:
            continue
        services.flag_late(day, now=at(date, 15, 11))
        services.release_group(day, [s.pk for s in students], to=To.WALK, label="Walkers",
                               actor=staff, now=at(date, 15, 20))  # fmt: skip
        seeded_days += 1
    return date


@pytest.mark.parametrize("days", [3, 30])
def test_the_reports_cost_the_same_queries_for_any_number_of_days(client, clock, school, staff,
                                                                   days):  # fmt: skip
    students = [testing.make_student(school) for _ in range(days // 3 + 2)]
    first = _seed_days(school, staff, students, days)
    services.emergency_start(services.day_of(school, first), actor=staff, message="Drill")
    client.force_login(staff)
    window = {"start": "2026-08-17", "end": TODAY.isoformat()}
    costs = {}
    for name in PAGES:
        with CaptureQueriesContext(connection) as queries:
            response = get(client, name, school, **window)
        assert response.status_code == 200, name
        costs[name] = len(queries)
    # Completion and late pickups read the days purged by the retention in one more query.
    assert costs == {"reports": 10, "reports_pickups": 8, "reports_completion_csv": 6,
                     "reports_late_csv": 6, "reports_emergencies_csv": 5,
                     "reports_pickups_csv": 5}  # fmt: skip
    assert len(reports.completion_by_day(school, first, TODAY)) == days
