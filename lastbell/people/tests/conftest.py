"""Pickup adults and custody restrictions: uploads go to a private folder of each test."""

import datetime as dt

import pytest

from lastbell import testing
from lastbell.accounts.models import Role


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def family_editing(school):
    """The school lets guardians see and change their children's plans and pickup adults."""
    school.parent_access = True
    school.parent_editing = True
    school.save()
    return school


@pytest.fixture
def other_family(school):
    """A classmate in another homeroom, with a guardian of their own."""
    pupil = testing.make_student(school, first="Ben", last="Okafor")
    return testing.make_guardian(pupil, first="Grace", last="Okafor")


@pytest.fixture
def school_admin(school):
    return testing.make_staff(school, Role.SCHOOL_ADMIN, first="Sam", last="Principal")


@pytest.fixture
def today(on_school_day):
    return on_school_day


@pytest.fixture
def tomorrow(on_school_day):
    return on_school_day + dt.timedelta(days=1)
