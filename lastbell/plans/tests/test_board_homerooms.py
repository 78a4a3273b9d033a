"""A teacher's board holds only the students of their own homerooms."""

import pytest

from lastbell import testing
from lastbell.accounts.access import school_access
from lastbell.plans import services
from lastbell.plans.board import day_board
from lastbell.plans.models import PlanType
from lastbell.plans.services import PlanSpec


@pytest.fixture
def rooms(on_school_day, school, staff, student, homeroom):
    """Ana is in Room 12 (the teacher's) and walks; Ben is in Room 14; Cleo has no room."""
    services.default_set(
        student=student,
        starts_on=on_school_day,
        days={day: PlanSpec(PlanType.WALK) for day in range(5)},
        actor=staff,
    )
    room_14 = testing.make_homeroom(school, "Room 14")
    ben = testing.make_student(school, first="Ben", homeroom=room_14)
    cleo = testing.make_student(school, first="Cleo")
    return room_14, ben, cleo


def test_it_limits_the_board_to_the_teachers_homeroom(
    on_school_day, school, teacher, student, rooms
):
    access = school_access(teacher, school.id)

    board = day_board(school, on_school_day, homeroom_ids=access.homeroom_ids)

    assert [row.student_id for row in board.rows] == [student.id]
    assert (board.total, board.missing_count) == (1, 0)
    assert board.rows[0].homeroom == "Room 12"


def test_it_gives_staff_the_whole_school(on_school_day, school, staff, student, rooms):
    _, ben, cleo = rooms
    access = school_access(staff, school.id)

    board = day_board(school, on_school_day, homeroom_ids=access.homeroom_ids)

    assert {row.student_id for row in board.rows} == {student.id, ben.id, cleo.id}
    assert board.missing_count == 2


def test_it_shows_a_teacher_without_a_homeroom_nobody(on_school_day, school, rooms):
    teacher = testing.make_staff(school, "teacher")

    board = day_board(
        school, on_school_day, homeroom_ids=school_access(teacher, school.id).homeroom_ids
    )

    assert board.rows == []
    assert board.missing_count == 0


def test_it_joins_several_homerooms(on_school_day, school, student, homeroom, rooms):
    room_14, ben, _ = rooms

    board = day_board(school, on_school_day, homeroom_ids=[homeroom.id, room_14.id])

    assert {row.student_id for row in board.rows} == {student.id, ben.id}
