"""A teacher sees the plans of their own homeroom's students, and nobody else's."""

import csv
import io

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from lastbell import testing


@pytest.fixture
def classmates(school, student):
    """Ana Rivera is in the teacher's Room 12; Ben is in Room 14; Cleo has no homeroom."""
    room_14 = testing.make_homeroom(school, "Room 14")
    ben = testing.make_student(school, first="Ben", last="Okafor", homeroom=room_14)
    cleo = testing.make_student(school, first="Cleo", last="Nakamura")
    return ben, cleo


@pytest.mark.parametrize("name", ["plans:students", "plans:roster", "plans:dashboard"])
def test_it_shows_a_teacher_only_their_homeroom(
    client, on_school_day, school, teacher, classmates, name
):
    client.force_login(teacher)

    r = client.get(reverse(name, args=[school.id]))

    if name == "plans:dashboard":
        assertContains(r, '<span class="num" data-testid="total">1</span>', html=True)
        assertContains(r, "in your homeroom")
    assertContains(r, "Rivera, Ana")
    assertNotContains(r, "Okafor")
    assertNotContains(r, "Nakamura")


def test_it_exports_only_the_teachers_homeroom(
    client, on_school_day, school, teacher, student, classmates
):
    client.force_login(teacher)

    r = client.get(reverse("plans:export", args=[school.id]))

    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == [student.sis_id]


def test_it_shows_a_teacher_their_own_student(client, on_school_day, school, teacher, student):
    client.force_login(teacher)

    r = client.get(reverse("plans:student", args=[school.id, student.id]))

    assertContains(r, "Ana Rivera")
    # A teacher sees the plan but is not offered the editing buttons.
    assertNotContains(r, reverse("plans:change_new", args=[school.id, student.id]))


@pytest.mark.parametrize("who", ["other_homeroom", "no_homeroom"])
def test_it_hides_another_homerooms_student_behind_a_404(
    client, on_school_day, school, teacher, classmates, who
):
    pupil = classmates[0] if who == "other_homeroom" else classmates[1]
    client.force_login(teacher)

    r = client.get(reverse("plans:student", args=[school.id, pupil.id]))

    assert r.status_code == 404


def test_it_hides_another_school_from_a_teacher(client, on_school_day, other_school, teacher):
    client.force_login(teacher)

    r = client.get(reverse("plans:dashboard", args=[other_school.id]))

    assert r.status_code == 404


def test_it_does_not_offer_a_teacher_the_edit_tabs(client, on_school_day, school, teacher):
    client.force_login(teacher)

    r = client.get(reverse("plans:dashboard", args=[school.id]))

    assertNotContains(r, reverse("plans:programs", args=[school.id]))
    assertNotContains(r, reverse("audit:history", args=[school.id]))


def test_it_tells_a_teacher_why_a_change_is_refused(
    client, on_school_day, school, teacher, student
):
    client.force_login(teacher)

    r = client.post(
        reverse("plans:change_new", args=[school.id, student.id]),
        {"starts_on": "2026-11-19", "plan_type": "walk"},
    )

    assertContains(r, "Ask the front office to make the change.", status_code=403)
    assert not student.changes.exists()
