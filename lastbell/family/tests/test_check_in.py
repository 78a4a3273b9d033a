"""A guardian's "I'm here" (issue 5 §3): the window, one tap for all the children at a
school, each child's state as the dismissal goes on, and whose children a guardian reaches."""

import datetime as dt

import pytest
from django.urls import reverse

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.dismissal import services
from lastbell.dismissal.models import Arrival, CustodyEvent
from lastbell.dismissal.services import Adult
from lastbell.people.models import CustodyRestriction, GuardianLink

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 18)  # a Wednesday; the fixture schools dismiss at 3 pm Pacific
HX = {"HX-Request": "true"}
Kind, To = CustodyEvent.Kind, CustodyEvent.To


def at(hour, minute=0):
    return dt.datetime(2026, 11, 18, hour, minute, tzinfo=dt.timezone(dt.timedelta(hours=-8)))


@pytest.fixture
def clock(time_machine):
    def move(hour, minute=0):
        time_machine.move_to(at(hour, minute), tick=False)
        return at(hour, minute)

    move(14, 45)  # check-in opens at 2:30 pm
    return move


@pytest.fixture
def family_school(school):
    school.parent_access = True
    school.parent_editing = True
    school.save()
    return school


@pytest.fixture
def leo(family_school, guardian):
    kid = testing.make_student(family_school, first="Leo", last="Rivera")
    GuardianLink.objects.create(guardian=guardian, student=kid, relationship="Parent")
    return kid


@pytest.fixture
def signed_in(client, family_school, guardian, clock):
    client.force_login(guardian.user)
    return client


def tap(client, school, **extra):
    return client.post(reverse("family:check_in", args=[school.pk]), extra.get("data", {}),
                       headers=extra.get("headers", {}))  # fmt: skip


def status(client, school, **params):
    return client.get(reverse("family:check_in_status", args=[school.pk]), params, headers=HX)


def home(client) -> str:
    return client.get(reverse("family:home")).content.decode()


# --- the window ------------------------------------------------------------------------------


def test_before_the_window_the_button_says_when_it_opens(signed_in, family_school, student,
                                                         leo, clock):  # fmt: skip
    clock(14, 0)
    page = home(signed_in)
    assert "I'm here" in page
    assert "disabled" in page
    assert "You can check in from 2:30\u00a0pm." in page


def test_a_tap_before_the_window_is_refused_in_the_guardians_language(
    signed_in, family_school, student, guardian, clock
):
    guardian.language = "es"
    guardian.save()
    clock(14, 0)
    response = tap(signed_in, family_school)
    assert response.status_code == 302
    page = signed_in.get(response["Location"], follow=True).content.decode()
    assert "Puede avisar que llegó a partir de las 2:30\u202fpm" in page
    assert "Puede avisar que llegó desde las 2:30\u00a0pm." in page  # the disabled button's
    assert not Arrival.objects.exists()


def test_a_refusal_through_htmx_comes_back_in_the_card(signed_in, family_school, student, clock):
    clock(14, 0)
    response = tap(signed_in, family_school, headers=HX)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in page and "Check-in opens at 2:30\u202fpm" in page
    assert "<html" not in page


def test_no_card_on_a_day_without_school(client, family_school, student, guardian, clock,
                                         time_machine):  # fmt: skip
    time_machine.move_to(dt.datetime(2026, 11, 21, 23, 0, tzinfo=dt.UTC), tick=False)  # Sat
    client.force_login(guardian.user)
    page = client.get(reverse("family:child", args=[student.pk])).content.decode()
    assert 'data-testid="checkin"' not in page
    response = tap(client, family_school)
    page = client.get(response["Location"], follow=True).content.decode()
    assert "There is no school today" in page
    assert not Arrival.objects.exists()


def test_no_card_when_every_child_is_absent(signed_in, family_school, student):
    Absence.objects.create(student=student, date=DAY)
    page = signed_in.get(reverse("family:child", args=[student.pk])).content.decode()
    assert 'data-testid="checkin"' not in page


# --- one tap -----------------------------------------------------------------------------------


def test_one_tap_checks_in_every_child_at_the_school(signed_in, family_school, student, leo,
                                                     guardian):  # fmt: skip
    page = home(signed_in)
    assert "One tap tells the school you're here for Ana, Leo." in page
    response = tap(signed_in, family_school, data={"next": "/family/"})
    assert response["Location"] == "/family/"
    arrival = Arrival.objects.get()
    assert (arrival.guardian, arrival.method) == (guardian, Arrival.Method.PHONE)
    checked = CustodyEvent.objects.filter(kind=Kind.CHECKED_IN)
    assert {e.student_id for e in checked} == {student.pk, leo.pk}
    page = home(signed_in)
    assert "We told the school you're here." in page
    assert page.count("Waiting to be called") == 2
    assert "One tap tells" not in page  # nobody left to check in for
    assert 'hx-trigger="every 5s"' in page


def test_a_second_tap_changes_nothing(signed_in, family_school, student, leo):
    tap(signed_in, family_school)
    response = tap(signed_in, family_school, headers=HX)
    assert "We told the school you're here." in response.content.decode()
    assert Arrival.objects.count() == 1
    assert CustodyEvent.objects.count() == 2


def test_a_tap_answers_htmx_with_the_card(signed_in, family_school, student):
    response = tap(signed_in, family_school, headers=HX)
    page = response.content.decode()
    assert page.lstrip().startswith(f'<div id="checkin-{family_school.pk}"')
    assert "Waiting to be called" in page


def test_a_bad_next_goes_home(signed_in, family_school, student):
    response = tap(signed_in, family_school, data={"next": "https://evil.example/family/"})
    assert response["Location"] == reverse("family:home")


# --- each child's state --------------------------------------------------------------------


def test_the_card_follows_each_child_until_everyone_left(signed_in, family_school, student,
                                                         leo, guardian, staff, clock):  # fmt: skip
    tap(signed_in, family_school)
    day = services.day_of(family_school)
    clock(15, 5)
    services.mark_sent(day, [student.pk], actor=staff, door="Door 2")
    page = status(signed_in, family_school).content.decode()
    assert "On the way to Door 2" in page and "Waiting to be called" in page
    clock(15, 12)
    services.release(day, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                     verification="car_tag")  # fmt: skip
    page = status(signed_in, family_school).content.decode()
    assert "Released to Maria Lopez at 3:12\u00a0pm" in page
    assert "hx-trigger" in page  # Leo is still waiting
    services.release(day, leo, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                     verification="car_tag")  # fmt: skip
    page = status(signed_in, family_school).content.decode()
    assert page.count("Released to Maria Lopez at 3:12\u00a0pm") == 2
    assert "hx-trigger" not in page  # everyone left: the polling stops


def test_a_poll_that_finds_nothing_new_answers_with_nothing(signed_in, family_school, student):
    tap(signed_in, family_school)
    first = status(signed_in, family_school)
    version = first.content.decode().split("?v=")[1].split('"')[0]
    assert status(signed_in, family_school, v=version).status_code == 204
    assert status(signed_in, family_school, v="old").status_code == 200


def test_the_status_without_htmx_is_the_home_page(signed_in, family_school, student):
    response = signed_in.get(reverse("family:check_in_status", args=[family_school.pk]))
    assert response["Location"] == reverse("family:home")


def test_an_emergency_shows_the_schools_instructions_instead_of_the_button(
    signed_in, family_school, student, staff
):
    day = services.day_of(family_school)
    services.emergency_start(day, actor=staff, message="Go to the church on Elm St.",
                             site="First Church, 12 Elm St")  # fmt: skip
    page = signed_in.get(reverse("family:child", args=[student.pk])).content.decode()
    assert "Go to the church on Elm St." in page and "First Church, 12 Elm St" in page
    assert "I'm here</button>" not in page


def test_the_card_gives_the_all_clear_when_the_emergency_ends(
    signed_in, family_school, student, staff
):
    day = services.day_of(family_school)
    services.emergency_start(day, actor=staff, message="Go to the church on Elm St.",
                             site="First Church, 12 Elm St")  # fmt: skip
    day.refresh_from_db()
    services.emergency_end(day, actor=staff, note="Pick up at the front office as usual.")
    page = signed_in.get(reverse("family:child", args=[student.pk])).content.decode()
    assert "All clear: the emergency at the school ended at" in page
    assert "Pick up at the front office as usual." in page
    assert "Go to the church on Elm St." not in page


# --- whose children ----------------------------------------------------------------------------


def test_another_familys_guardian_finds_nothing(client, family_school, student, leo, clock,
                                                other_school):  # fmt: skip
    elsewhere = testing.make_student(other_school, first="Olga")
    stranger = testing.make_guardian(elsewhere, first="Olga", last="Other")
    client.force_login(stranger.user)
    assert tap(client, family_school).status_code == 404
    assert status(client, family_school).status_code == 404
    assert not Arrival.objects.exists()


def test_a_guardian_at_the_same_school_reaches_only_their_own(client, family_school, student,
                                                             leo, clock):  # fmt: skip
    neighbour = testing.make_student(family_school, first="Nico", last="Park")
    parent = testing.make_guardian(neighbour, first="Pat", last="Park")
    client.force_login(parent.user)
    tap(client, family_school)
    checked = CustodyEvent.objects.filter(kind=Kind.CHECKED_IN)
    assert [e.student_id for e in checked] == [neighbour.pk]
    page = status(client, family_school).content.decode()
    assert "Nico" in page and "Ana" not in page and "Leo" not in page


def test_a_child_whose_custody_order_names_the_guardian_is_left_out(
    signed_in, family_school, student, leo
):
    CustodyRestriction.objects.create(
        student=student, person_name="Maria Lopez", kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=dt.date(2026, 1, 1),
    )  # fmt: skip
    page = home(signed_in)
    assert "One tap tells the school you're here for Leo." in page
    tap(signed_in, family_school)
    checked = CustodyEvent.objects.filter(kind=Kind.CHECKED_IN)
    assert [e.student_id for e in checked] == [leo.pk]
    page = status(signed_in, family_school).content.decode()
    assert f'data-testid="pickup-{leo.pk}"' in page
    assert f'data-testid="pickup-{student.pk}"' not in page and "Ana" not in page


def test_a_guardian_whose_only_child_is_restricted_gets_no_check_in(
    signed_in, family_school, student
):
    CustodyRestriction.objects.create(
        student=student, person_name="Maria Lopez", kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=dt.date(2026, 1, 1),
    )  # fmt: skip
    assert 'data-testid="checkin"' not in home(signed_in)
    assert tap(signed_in, family_school).status_code == 403
    assert status(signed_in, family_school).status_code == 403
    assert not Arrival.objects.exists()


def test_parent_access_off_means_no_check_in(signed_in, family_school, student):
    family_school.parent_access = False
    family_school.save()
    response = tap(signed_in, family_school)
    assert response.status_code == 403
    assert family_school.office_phone in response.content.decode()
    assert not Arrival.objects.exists()


def test_children_at_two_schools_have_a_button_each(signed_in, family_school, student,
                                                    guardian, other_school):  # fmt: skip
    other_school.parent_access = True
    other_school.save()
    brother = testing.make_student(other_school, first="Tom", last="Rivera")
    GuardianLink.objects.create(guardian=guardian, student=brother, relationship="Parent")
    page = home(signed_in)
    assert "Pickup at Lincoln Elementary" in page and "Pickup at Washington Middle" in page
    assert page.count("I'm here</button>") == 2
    tap(signed_in, other_school)
    checked = CustodyEvent.objects.filter(kind=Kind.CHECKED_IN)
    assert [e.student_id for e in checked] == [brother.pk]


def test_the_card_reads_the_same_queries_for_two_children_or_five(
    signed_in, family_school, student, leo, guardian
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert status(signed_in, family_school).status_code == 200
        return len(queries)

    tap(signed_in, family_school)
    two = count()
    for n in range(3):
        kid = testing.make_student(family_school, first=f"Kid{n}")
        GuardianLink.objects.create(guardian=guardian, student=kid, relationship="Parent")
    tap(signed_in, family_school)
    assert count() == two
