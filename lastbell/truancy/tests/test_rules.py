"""The truancy rules of DESIGN.md §4, counted by the tracker from real attendance rows."""

import datetime as dt

import pytest

from lastbell import testing
from lastbell.attendance.models import Category
from lastbell.attendance.services import attendance_set
from lastbell.truancy import services, tracker
from lastbell.truancy.models import TruancyPolicy
from lastbell.truancy.tests.helpers import DAYS, ON, issue, record, unexcused

pytestmark = pytest.mark.django_db


def due_names(district, level, school=None, on=ON):
    return [r.first_name for r in tracker.due(district=district, school=school, level=level,
                                              on=on)]  # fmt: skip


def test_it_reaches_letter_1_with_two_unexcused_absences_and_one_truancy(district, school):
    ana = testing.make_student(school, first="Ana")
    unexcused(ana, DAYS[0], DAYS[1])
    record(ana, (DAYS[2], "tardy", False, 45))
    (row,) = tracker.due(district=district, school=school, level=1, on=ON)
    assert (row.first_name, row.count, row.reached, row.issued) == ("Ana", 3, 1, 0)
    assert row.dates == [DAYS[0], DAYS[1], DAYS[2]]


def test_five_tardies_and_seven_excused_absences_reach_nothing(district, school):
    ben = testing.make_student(school, first="Ben")
    record(ben, *[(DAYS[n], "tardy", False, 10) for n in range(5)])
    record(ben, *[(DAYS[n], "absent", True, None) for n in range(5, 12)])
    assert due_names(district, 1, school) == []
    assert tracker.standing(ben, ON)[1] == []


def test_a_tardy_of_30_minutes_does_not_count_and_31_does(district, school):
    ana = testing.make_student(school, first="Ana")
    unexcused(ana, DAYS[0], DAYS[1])
    record(ana, (DAYS[2], "tardy", False, 30))
    assert due_names(district, 1, school) == []
    record(ana, (DAYS[2], "tardy", False, 31))
    assert due_names(district, 1, school) == ["Ana"]


def test_an_early_departure_counts_by_the_minutes_it_missed(district, school):
    # Dismissal is at 3 pm: leaving at 2:30 misses 30 minutes, at 2:00 misses 60.
    ana = testing.make_student(school, first="Ana")
    unexcused(ana, DAYS[0], DAYS[1])
    record(ana, (DAYS[2], "early_departure", False, 30))
    assert due_names(district, 1, school) == []
    record(ana, (DAYS[2], "early_departure", False, None))  # 2 pm, so 60 minutes
    assert due_names(district, 1, school) == ["Ana"]


def test_an_unexcused_tardy_without_minutes_does_not_count(district, school):
    ana = testing.make_student(school, first="Ana")
    unexcused(ana, DAYS[0], DAYS[1])
    record(ana, (DAYS[2], "tardy", False, None))
    assert due_names(district, 1, school) == []


def test_only_the_school_year_up_to_today_counts(district, school):
    ana = testing.make_student(school, first="Ana", enrolled_on=dt.date(2026, 1, 5))
    # June 30 belongs to last year; July 1 is the first day of this one.
    unexcused(ana, dt.date(2026, 6, 30), dt.date(2026, 7, 1), DAYS[0])
    assert due_names(district, 1, school) == []
    unexcused(ana, DAYS[1])
    assert due_names(district, 1, school) == ["Ana"]
    # A day after "on" does not count yet.
    assert due_names(district, 1, school, on=DAYS[0]) == []
    # A policy whose year starts later leaves July 1 out.
    services.policy_save(district=district, values={
        "counts": [Category.ABSENT_UNEXCUSED], "tardy_minutes": 30,
        "levels": [{"threshold": 3, "name": "Letter 1"}],
        "year_starts_on": dt.date(2026, 8, 17), "year_ends_on": dt.date(2027, 6, 11),
    }, actor=None)  # fmt: skip
    assert due_names(district, 1, school) == []
    # After the year ends, nothing of the next one counts under it.
    unexcused(ana, DAYS[2])
    assert due_names(district, 1, school, on=dt.date(2027, 6, 20)) == ["Ana"]
    unexcused(ana, dt.date(2027, 6, 14), dt.date(2027, 6, 15))
    (row,) = tracker.due(district=district, school=school, level=1, on=dt.date(2027, 6, 20))
    assert row.count == 3


def test_an_absence_excused_after_the_fact_drops_the_count(district, school, staff):
    ana = testing.make_student(school, first="Ana")
    unexcused(ana, DAYS[0], DAYS[1], DAYS[2])
    issue(ana, 1)
    assert due_names(district, 1, school) == []  # already had letter 1
    unexcused(ana, DAYS[3], DAYS[4], DAYS[5])
    assert due_names(district, 2, school) == ["Ana"]
    attendance_set(student=ana, date=DAYS[4], category=Category.ABSENT_EXCUSED, actor=staff)
    assert due_names(district, 2, school) == []
    assert len(tracker.standing(ana, ON)[1]) == 5


def test_a_student_who_jumps_several_levels_gets_the_letters_in_order(district, school):
    ana = testing.make_student(school, first="Ana")
    unexcused(ana, DAYS[0], DAYS[1])
    assert due_names(district, 1, school) == []
    unexcused(ana, *DAYS[2:9])  # 2 → 9 counted days: past letter 3
    (row,) = tracker.due(district=district, school=school, level=1, on=ON)
    assert (row.count, row.reached) == (9, 3)
    assert due_names(district, 2, school) == [] and due_names(district, 3, school) == []
    issue(ana, 1)
    assert due_names(district, 1, school) == [] and due_names(district, 2, school) == ["Ana"]
    issue(ana, 2)
    assert due_names(district, 3, school) == ["Ana"]
    issue(ana, 3)
    assert [due_names(district, n, school) for n in (1, 2, 3)] == [[], [], []]


def test_a_voided_letter_or_last_years_letter_is_not_issued(district, school):
    ana = testing.make_student(school, first="Ana")
    unexcused(ana, *DAYS[:3])
    issue(ana, 1, voided=True)
    assert due_names(district, 1, school) == ["Ana"]
    issue(ana, 1, at=dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC))
    assert due_names(district, 1, school) == ["Ana"]
    issue(ana, 1, at=dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC))
    assert due_names(district, 1, school) == []


def test_asking_twice_gives_the_same_answer_and_writes_nothing(
    district, school, django_assert_num_queries
):
    ana = testing.make_student(school, first="Ana")
    unexcused(ana, *DAYS[:4])
    first = tracker.due(district=district, school=school, level=1, on=ON)
    with django_assert_num_queries(2) as captured:
        again = tracker.due(district=district, school=school, level=1, on=ON)
    assert [(r.student_id, r.count, r.dates) for r in first] == [
        (r.student_id, r.count, r.dates) for r in again
    ]
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in captured.captured_queries)


def test_a_school_override_counts_its_students_by_its_own_rules(district, school, other_school):
    ana = testing.make_student(school, first="Ana")
    omar = testing.make_student(other_school, first="Omar")
    for pupil in (ana, omar):
        unexcused(pupil, DAYS[0])
        record(pupil, (DAYS[1], "tardy", False, 20), (DAYS[2], "tardy", False, 20))
    assert due_names(district, 1) == []
    services.policy_save(district=district, school=other_school, values={
        "counts": [Category.ABSENT_UNEXCUSED, Category.TARDY_UNEXCUSED], "tardy_minutes": 15,
        "levels": [{"threshold": 3, "name": "Warning"}],
        "year_starts_on": dt.date(2026, 8, 1), "year_ends_on": dt.date(2027, 7, 31),
    }, actor=None)  # fmt: skip
    assert due_names(district, 1) == ["Omar"]
    assert due_names(district, 1, school) == []
    assert tracker.policy_for(other_school, ON).tardy_minutes == 15
    assert tracker.policy_for(school, ON).is_default


def test_a_withdrawn_student_and_other_districts_are_left_out(district, school):
    ana = testing.make_student(school, first="Ana", withdrawn_on=dt.date(2026, 10, 1))
    unexcused(ana, *DAYS[:5])
    elsewhere = testing.make_school(testing.make_district("Other"), "Far Away")
    far = testing.make_student(elsewhere, first="Far")
    unexcused(far, *DAYS[:5])
    assert due_names(district, 1) == [] and due_names(district, 1, school) == []
    with pytest.raises(ValueError):
        tracker.due(district=district, school=elsewhere, level=1, on=ON)


def test_district_wide_lists_only_schools_that_use_last_bell(district, school, other_school):
    other_school.tracker_enabled = False
    other_school.save()
    for where, name in ((school, "Ana"), (other_school, "Omar")):
        unexcused(testing.make_student(where, first=name), *DAYS[:3])
    assert due_names(district, 1) == ["Ana"]


def test_a_level_past_the_policys_last_letter_has_nobody(district, school):
    unexcused(testing.make_student(school, first="Ana"), *DAYS[:20])
    assert due_names(district, 4, school) == []
    with pytest.raises(ValueError):
        tracker.due(district=district, school=school, level=0, on=ON)


def test_the_default_policy_is_californias():
    policy = TruancyPolicy.california(None, ON)
    assert [policy.threshold(n) for n in (1, 2, 3, 4)] == [3, 6, 9, None]
    assert (policy.year_starts_on, policy.year_ends_on) == (dt.date(2026, 7, 1),
                                                            dt.date(2027, 6, 30))  # fmt: skip
    assert policy.tardy_minutes == 30
    assert sorted(policy.counts) == sorted([Category.ABSENT_UNEXCUSED, Category.TARDY_UNEXCUSED,
                                            Category.EARLY_UNEXCUSED])  # fmt: skip
    assert [policy.reached(n) for n in (2, 3, 5, 6, 9, 40)] == [0, 1, 1, 2, 3, 3]
