import pytest

from lastbell.privacy.tests.support import TODAY, at, departed_student


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(at(TODAY, 9), tick=False)
    return time_machine


@pytest.fixture
def record(clock, media, school, staff):
    return departed_student(school, staff)
