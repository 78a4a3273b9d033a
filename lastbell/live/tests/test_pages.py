"""Which pages subscribe: today's dashboard, roster and students table, and nothing else."""

import datetime as dt

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["plans:dashboard", "plans:roster", "plans:students"])
def test_todays_board_pages_subscribe(client, on_school_day, school, staff, student, name):
    client.force_login(staff)
    html = client.get(reverse(name, args=[school.id])).content.decode()
    # The stream's address carries the version the page was read at (test_catch_up.py).
    assert f'data-live="/schools/{school.id}/live/?since=' in html
    assert 'id="live-status"' in html and 'aria-live="polite"' in html
    assert "data-live-region" in html


@pytest.mark.parametrize("name", ["plans:dashboard", "plans:roster", "plans:students"])
def test_other_days_do_not(client, on_school_day, school, staff, student, name):
    client.force_login(staff)
    tomorrow = (on_school_day + dt.timedelta(days=1)).isoformat()
    html = client.get(reverse(name, args=[school.id]), {"date": tomorrow}).content.decode()
    assert "data-live=" not in html
    assert "live-status" not in html


def test_a_students_page_does_not(client, on_school_day, school, staff, student):
    client.force_login(staff)
    html = client.get(reverse("plans:student", args=[school.id, student.id])).content.decode()
    assert "data-live=" not in html


def test_the_students_refresh_gets_only_its_results(client, on_school_day, school, staff, student):
    client.force_login(staff)
    response = client.get(
        reverse("plans:students", args=[school.id]), {"q": "Rivera"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results"') and "data-live-region" in html
    assert "Rivera, Ana" in html


def test_without_asgi_the_stream_address_says_no_content(client, school, staff):
    client.force_login(staff)
    assert client.get(f"/schools/{school.id}/live/").status_code == 204


def test_without_asgi_others_get_404_or_sign_in(client, school, other_staff):
    assert client.get(f"/schools/{school.id}/live/").status_code == 302
    client.force_login(other_staff)
    assert client.get(f"/schools/{school.id}/live/").status_code == 404
