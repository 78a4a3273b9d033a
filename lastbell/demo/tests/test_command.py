"""`manage.py load_demo`: into an empty database only, with a table of sign-ins."""

import io

import pytest
from django.core.management import CommandError, call_command

from lastbell.demo.generator import DEMO_PASSWORD
from lastbell.people.models import Student
from lastbell.schools.models import School

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def test_load_demo_prints_the_sign_ins(on_school_day):
    output = run("--students-per-school", "40")
    assert School.objects.count() == 3
    assert Student.objects.count() == 120
    assert "3 schools, 120 students" in output
    assert "admin@cedarvalley.example.org" in output
    assert "principal.mge@cedarvalley.example.org" in output
    assert output.count(DEMO_PASSWORD) >= 10


def test_if_empty_leaves_a_database_with_schools_alone(school):
    output = run("--if-empty")
    assert output.strip() == "The database already has schools; the demo was not loaded."
    assert School.objects.count() == 1
    with pytest.raises(CommandError, match="empty database"):
        run()
