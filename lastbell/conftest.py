import datetime as dt

import pytest

from lastbell import testing
from lastbell.accounts.models import Role

# A Wednesday in the school year; tests that care about "today" travel here.
SCHOOL_DAY = dt.date(2026, 11, 18)


@pytest.fixture
def district(db):
    return testing.make_district()


@pytest.fixture
def school(district):
    return testing.make_school(district, "Lincoln Elementary")


@pytest.fixture
def other_school(district):
    return testing.make_school(district, "Washington Middle")


@pytest.fixture
def staff(school):
    return testing.make_staff(school, Role.DISMISSAL_STAFF, first="Dana", last="Office")


@pytest.fixture
def other_staff(other_school):
    return testing.make_staff(other_school, Role.DISMISSAL_STAFF, first="Omar", last="Elsewhere")


@pytest.fixture
def district_admin(district):
    return testing.make_district_admin(district, first="Dee", last="Admin")


@pytest.fixture
def homeroom(school):
    return testing.make_homeroom(school, "Room 12")


@pytest.fixture
def teacher(school, homeroom):
    return testing.make_staff(school, Role.TEACHER, homerooms=[homeroom], first="Tess",
                              last="Teacher")


@pytest.fixture
def student(school, homeroom):
    return testing.make_student(school, first="Ana", last="Rivera", homeroom=homeroom)


@pytest.fixture
def guardian(student):
    return testing.make_guardian(student)


@pytest.fixture
def route(school):
    return testing.make_route(school, "12", "North loop")


@pytest.fixture
def on_school_day(time_machine):
    """Freeze the clock at 9 am Pacific on a school-year Wednesday."""
    time_machine.move_to(dt.datetime(2026, 11, 18, 17, 0, tzinfo=dt.UTC), tick=False)
    return SCHOOL_DAY
