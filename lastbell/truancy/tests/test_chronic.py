"""Chronic absence (issue 6 §7): absent all day on 10% or more of the school days enrolled,
any reason, in tiers; counted in the database, the days from the school's calendar."""

import datetime as dt

import pytest
from django.urls import reverse

from lastbell import testing
from lastbell.schools.models import CalendarDay
from lastbell.truancy import chronic
from lastbell.truancy.tests.helpers import record

ON = dt.date(2026, 11, 18)
TERM_START = dt.date(2026, 8, 17)


def school_days(first, last, holidays=()):
    """A reference count: the weekdays from `first` to `last`, less the holidays."""
    day, days = first, []
    while day <= last:
        if day.weekday() < 5 and day not in holidays:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def absent(pupil, days, *, excused=False):
    record(pupil, *[(d, "absent", excused, None) for d in days])


@pytest.mark.parametrize(("days_absent", "enrolled", "tier"), [
    (0, 40, None), (1, 40, None), (2, 40, "at_risk"), (3, 40, "at_risk"), (4, 40, "moderate"),
    (7, 40, "moderate"), (8, 40, "severe"), (40, 40, "severe"), (3, 9, None), (1, 10, "moderate"),
])  # fmt: skip
def test_the_tiers(days_absent, enrolled, tier):
    assert chronic.tier_of(days_absent, enrolled) == tier


def test_it_counts_absences_of_any_reason_over_the_school_days_enrolled(district, school):
    CalendarDay.objects.create(school=school, date=dt.date(2026, 11, 11), kind="holiday")
    days = school_days(TERM_START, ON, holidays={dt.date(2026, 11, 11)})
    ana = testing.make_student(school, first="Ana", last="Rivera")
    absent(ana, days[:3])
    absent(ana, days[3:7], excused=True)  # excused absences count too
    record(ana, *[(d, "tardy", False, 50) for d in days[10:20]])  # tardies are not absences
    late = testing.make_student(school, first="Leo", last="Late",
                                enrolled_on=dt.date(2026, 11, 2))  # fmt: skip
    absent(late, [dt.date(2026, 10, 28)])  # before enrolling here: not counted
    absent(late, [dt.date(2026, 11, 3)])
    report = chronic.report(district=district, school=school, on=ON)
    rows = {row.first_name: row for row in report.rows}
    assert (rows["Ana"].absent, rows["Ana"].days) == (7, len(days))
    assert rows["Ana"].tier == "moderate"  # 7 of 67: 10.4%
    leo_days = school_days(dt.date(2026, 11, 2), ON, holidays={dt.date(2026, 11, 11)})
    assert (rows["Leo"].absent, rows["Leo"].days) == (1, len(leo_days)) == (1, 12)
    assert rows["Leo"].tier == "at_risk"  # 1 of 12: 8.3%
    assert report.now.counts == {"severe": 0, "moderate": 1, "at_risk": 1}
    assert report.now.enrolled == 2


def test_a_student_enrolled_a_few_days_is_not_tiered_yet(district, school):
    new = testing.make_student(school, first="New", enrolled_on=dt.date(2026, 11, 16))
    absent(new, [dt.date(2026, 11, 16)])
    report = chronic.report(district=district, school=school, on=ON)
    assert report.rows == [] and report.too_new == 1 and report.now.enrolled == 0


def test_a_withdrawn_student_is_left_out_after_leaving(district, school):
    gone = testing.make_student(school, first="Gone", withdrawn_on=dt.date(2026, 10, 30))
    absent(gone, school_days(TERM_START, dt.date(2026, 9, 30))[:10])
    report = chronic.report(district=district, school=school, on=ON)
    assert report.rows == []
    september = next(p for p in report.months if p.on == dt.date(2026, 9, 30))
    assert september.counts["severe"] == 1  # still here then: on the chart


def test_the_chart_counts_each_months_end(district, school):
    days = school_days(TERM_START, ON)
    ana = testing.make_student(school, first="Ana")
    absent(ana, days[:4])  # all in August: 4 of 11 school days
    report = chronic.report(district=district, school=school, on=ON)
    assert [p.on for p in report.months] == [dt.date(2026, 8, 31), dt.date(2026, 9, 30),
                                             dt.date(2026, 10, 31), ON]  # fmt: skip
    tiers = [next((k for k, n in p.counts.items() if n), None) for p in report.months]
    # 4/11 = 36% in August, 4/33 = 12% in September, 4/55 = 7% in October, 4/68 by today.
    assert tiers == ["severe", "moderate", "at_risk", "at_risk"]


@pytest.mark.parametrize("students", [3, 30])
def test_it_counts_in_the_database_with_the_same_queries_for_3_or_30(
    district, school, other_school, students, django_assert_num_queries
):
    days = school_days(TERM_START, ON)
    for n in range(students):
        for where in (school, other_school):
            absent(testing.make_student(where, last=f"S{n}"), days[: n % 12])
    # policies, schools, students with their counts, terms, calendar days
    with django_assert_num_queries(5):
        report = chronic.report(district=district, on=ON)
    assert sum(s.enrolled for s in report.schools) == 2 * students


def test_the_page_shows_the_tiers_the_chart_and_the_students(client, school, staff,
                                                             on_school_day):  # fmt: skip
    days = school_days(TERM_START, ON)
    absent(testing.make_student(school, first="Ana", last="Rivera"), days[:20])
    client.force_login(staff)
    response = client.get(reverse("truancy:school_chronic", args=[school.pk]))
    page = response.content.decode()
    assert 'data-testid="tier-severe">1<' in page and "Rivera, Ana" in page
    assert "29.4%" in page  # 20 of 68
    assert page.count('<rect class="severe" x=') == 4  # a bar per month from August, and today
    assert "<script" not in page.split("</head>")[1]  # the chart needs no script
    empty = client.get(reverse("truancy:school_chronic", args=[school.pk]) + "?tier=moderate")
    assert "No student is in this tier now." in empty.content.decode()


def test_the_district_page_has_each_school(client, district, school, other_school,
                                           district_admin, on_school_day):  # fmt: skip
    days = school_days(TERM_START, ON)
    absent(testing.make_student(other_school, first="Omar", last="Diaz"), days[:10])
    client.force_login(district_admin)
    page = client.get(reverse("truancy:district_chronic", args=[district.pk])).content.decode()
    assert "Lincoln Elementary" in page and "Washington Middle" in page
    assert "Diaz, Omar" in page and "1 (100.0%)" in page
