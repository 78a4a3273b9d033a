"""Only students enrolled at the school on the date are on its board."""

import datetime as dt

from lastbell import testing
from lastbell.plans.board import day_board


def test_it_lists_only_students_enrolled_on_the_date(on_school_day, school, student):
    yesterday = on_school_day - dt.timedelta(days=1)
    tomorrow = on_school_day + dt.timedelta(days=1)
    starts_today = testing.make_student(school, first="Tia", enrolled_on=on_school_day)
    not_yet = testing.make_student(school, first="Uma", enrolled_on=tomorrow)
    withdrawn = testing.make_student(school, first="Vic", withdrawn_on=yesterday)
    leaves_later = testing.make_student(school, first="Wes", withdrawn_on=tomorrow)

    board = day_board(school, on_school_day)

    on_board = {row.student_id for row in board.rows}
    assert on_board == {student.id, starts_today.id, leaves_later.id}
    assert not_yet.id not in on_board
    assert withdrawn.id not in on_board
    assert board.total == 3
    assert board.missing_count == 3


def test_it_lists_a_student_from_the_first_day_of_enrollment(on_school_day, school):
    pupil = testing.make_student(school, enrolled_on=on_school_day + dt.timedelta(days=1))

    before = day_board(school, on_school_day)
    after = day_board(school, on_school_day + dt.timedelta(days=1))

    assert pupil.id not in {row.student_id for row in before.rows}
    assert pupil.id in {row.student_id for row in after.rows}


def test_it_leaves_out_students_of_other_schools(on_school_day, school, other_school, student):
    testing.make_student(other_school, first="Zed")

    board = day_board(school, on_school_day)

    assert [row.student_id for row in board.rows] == [student.id]


def test_it_orders_students_by_last_name_and_shows_the_preferred_name(on_school_day, school):
    testing.make_student(school, first="Robert", preferred_name="Bobby", last="Young")
    testing.make_student(school, first="Alice", last="Adams")

    board = day_board(school, on_school_day)

    assert [row.name for row in board.rows] == ["Alice Adams", "Bobby Young"]
