"""Counting is done in the database: the number of queries does not grow with students."""

import pytest
from django.urls import reverse

from lastbell import testing
from lastbell.truancy import tracker
from lastbell.truancy.tests.helpers import DAYS, ON, issue, unexcused


def crowd(school, students):
    pupils = [testing.make_student(school) for _ in range(students)]
    for n, pupil in enumerate(pupils):
        unexcused(pupil, *DAYS[: 3 + n % 5])
        if n % 3 == 0:
            issue(pupil, 1)
    return pupils


@pytest.mark.parametrize("students", [4, 40])
def test_the_due_list_takes_the_same_queries_for_4_or_40_students(
    district, school, other_school, students, django_assert_num_queries
):
    crowd(school, students)
    crowd(other_school, students)
    with django_assert_num_queries(2):  # policies, the count with its dates
        rows = tracker.due(district=district, school=school, level=1, on=ON)
    assert len(rows) == students - len(range(0, students, 3))
    with django_assert_num_queries(3):  # + the district's schools
        rows = tracker.due(district=district, level=2, on=ON)
    assert {r.school_id for r in rows} == {school.pk, other_school.pk}


@pytest.mark.parametrize("students", [4, 120])
def test_the_tracker_page_takes_the_same_queries_for_4_or_120_students(
    client, school, staff, students, django_assert_num_queries, on_school_day
):
    crowd(school, students)
    client.force_login(staff)
    client.get(reverse("truancy:school", args=[school.pk]))  # sessions and the like, warmed
    with django_assert_num_queries(9):
        response = client.get(reverse("truancy:school", args=[school.pk]))
    assert response.status_code == 200
