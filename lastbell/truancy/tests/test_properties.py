"""The tracker's counting in SQL agrees with the rules written plainly in Python.

Random attendance (around the school year's edges, with minutes around the threshold),
random policies and letters already issued; for every level, who is due, with which count
and dates, must be what the reference model below says.
"""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lastbell import testing
from lastbell.attendance.models import Category
from lastbell.truancy import services, tracker
from lastbell.truancy.models import COUNTABLE, Letter
from lastbell.truancy.tests.helpers import record

START, END, ON = dt.date(2026, 8, 17), dt.date(2027, 6, 11), dt.date(2026, 11, 18)
DAYS = [START - dt.timedelta(days=1), START, START + dt.timedelta(days=1), dt.date(2026, 10, 1),
        dt.date(2026, 10, 2), dt.date(2026, 10, 5), ON, ON + dt.timedelta(days=1)]  # fmt: skip
KINDS = ["absent", "tardy", "early_departure"]

events = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(DAYS),
        st.sampled_from(KINDS),
        st.booleans(),
        st.sampled_from([None, 0, 10, 29, 30, 31, 60]),
    ),  # fmt: skip
    max_size=25,
)
policies = st.fixed_dictionaries({
    "counts": st.lists(st.sampled_from([c for c, _ in COUNTABLE]), min_size=1, unique=True),
    "tardy_minutes": st.sampled_from([0, 10, 30, 45]),
    "thresholds": st.lists(st.integers(1, 6), min_size=1, max_size=3, unique=True).map(sorted),
})  # fmt: skip
issued = st.lists(st.integers(0, 3), min_size=3, max_size=3)


def reference(raw, policy, letters, level):
    """{student: (count, dates)} of those due for `level`, by DESIGN.md §4."""
    days = {}
    for student, date, kind, excused, minutes in raw:
        if kind == "early_departure" and minutes is None:
            minutes = 60  # leaves at 2 pm, dismissal at 3 pm
        days[(student, date)] = (kind, excused, minutes if kind != "absent" else None)
    counted: dict[int, list] = {}
    for (student, date), (kind, excused, minutes) in days.items():
        if not START <= date <= ON:
            continue
        if Category.of(kind, excused) not in policy["counts"]:
            continue
        if kind != "absent" and (minutes is None or minutes <= policy["tardy_minutes"]):
            continue
        counted.setdefault(student, []).append(date)
    if level > len(policy["thresholds"]):
        return {}
    threshold = policy["thresholds"][level - 1]
    return {
        student: (len(dates), sorted(dates))
        for student, dates in counted.items()
        if len(dates) >= threshold and letters[student] == level - 1
    }


@pytest.fixture
def pupils(school):
    return [testing.make_student(school, first=name) for name in ("Ana", "Ben", "Cy")]


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(raw=events, policy=policies, letters=issued)
def test_the_due_list_matches_the_rules(school, pupils, raw, policy, letters):
    with transaction.atomic():
        record_all(pupils, raw)
        services.policy_save(district=school.district, values={
            "counts": policy["counts"], "tardy_minutes": policy["tardy_minutes"],
            "levels": [{"threshold": t, "name": f"L{t}"} for t in policy["thresholds"]],
            "year_starts_on": START, "year_ends_on": END,
        }, actor=None)  # fmt: skip
        for n, highest in enumerate(letters):
            for level in range(1, highest + 1):
                Letter.objects.create(
                    student=pupils[n],
                    school=school,
                    level=level,
                    year_starts_on=START,
                    issued_at=timezone.now(),
                )
        index = {p.pk: n for n, p in enumerate(pupils)}
        for level in (1, 2, 3):
            rows = tracker.due(district=school.district, school=school, level=level, on=ON)
            got = {index[r.student_id]: (r.count, r.dates) for r in rows}
            assert got == reference(raw, policy, letters, level), level
        transaction.set_rollback(True)


def record_all(pupils, raw):
    # Later events of the same day replace earlier ones, as the attendance system sends them.
    for student, date, kind, excused, minutes in raw:
        record(pupils[student], (date, kind, excused, minutes))
