"""Ending an emergency: the all clear (DESIGN.md §3). Only a school admin ends it, after a
confirmation page; it is audited, the guardians who got the instructions hear the all clear
in their language, the day's normal rules come back, and the log keeps the end."""

import csv
import datetime as dt
import io

import pypdf
import pytest
from django.urls import reverse

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.attendance.models import Absence
from lastbell.audit.models import AuditEvent
from lastbell.dismissal import services
from lastbell.dismissal.models import CustodyEvent, DismissalDay, Verification
from lastbell.dismissal.services import Adult, Refused
from lastbell.messaging.models import Message

Kind, To = CustodyEvent.Kind, CustodyEvent.To
DAY = dt.date(2026, 11, 18)  # a Wednesday; the fixture schools dismiss at 3 pm Pacific
PACIFIC = dt.timezone(dt.timedelta(hours=-8))
ALL_CLEAR = "Pick up at the front office until 6 pm."


def at(hour, minute=0):
    return dt.datetime(2026, 11, 18, hour, minute, tzinfo=PACIFIC)


@pytest.fixture
def clock(time_machine):
    def move(hour, minute=0):
        time_machine.move_to(at(hour, minute), tick=False)

    move(14, 10)
    return move


@pytest.fixture
def school_admin(school):
    return testing.make_staff(school, Role.SCHOOL_ADMIN, first="Sam", last="Principal")


@pytest.fixture
def day(school, clock):
    return services.day_of(school, DAY)


@pytest.fixture
def emergency_day(day, school_admin, student, guardian):
    services.emergency_start(day, actor=school_admin, message="Go to the church lot.",
                             site="St. Mark's, 12 Elm St")  # fmt: skip
    day.refresh_from_db()
    return day


def end(day, actor, clock, note=ALL_CLEAR):
    clock(14, 40)
    queued = services.emergency_end(day, actor=actor, note=note)
    day.refresh_from_db()
    return queued


def url(name, school, *args):
    return reverse(f"dismissal:{name}", args=[school.id, *args])


# --- the service -----------------------------------------------------------------------------


def test_it_ends_the_emergency_in_one_audited_step(emergency_day, school_admin, clock):
    end(emergency_day, school_admin, clock)
    day = DismissalDay.objects.get(pk=emergency_day.pk)
    assert (day.emergency_ended_at, day.emergency_ended_by, day.emergency_end_note) == (
        at(14, 40), school_admin, ALL_CLEAR)  # fmt: skip
    assert not day.is_emergency and day.had_emergency and day.emergency_ended
    assert day.mode == DismissalDay.Mode.EMERGENCY  # the day was one, for the log and reports
    audit = AuditEvent.objects.get(action="dismissal.emergency_ended")
    assert audit.actor_id == school_admin.pk and audit.target_id == str(day.pk)
    assert audit.after["note"] == ALL_CLEAR and audit.before["mode"] == "emergency"


def test_it_cannot_end_twice(emergency_day, school_admin, clock):
    end(emergency_day, school_admin, clock)
    sent = Message.objects.filter(kind="all_clear").count()
    with pytest.raises(Refused, match=r"already ended at 2:40\W+pm \(Sam Principal\)"):
        services.emergency_end(emergency_day, actor=school_admin, note="Again")
    assert Message.objects.filter(kind="all_clear").count() == sent
    assert AuditEvent.objects.filter(action="dismissal.emergency_ended").count() == 1
    emergency_day.refresh_from_db()
    assert emergency_day.emergency_end_note == ALL_CLEAR


def test_a_day_without_an_emergency_has_nothing_to_end(day, school_admin, student, guardian):
    with pytest.raises(Refused, match="not in emergency mode: there is nothing to end"):
        services.emergency_end(day, actor=school_admin, note=ALL_CLEAR)
    day.refresh_from_db()
    assert day.emergency_ended_at is None
    assert not AuditEvent.objects.filter(action="dismissal.emergency_ended").exists()
    assert not Message.objects.exists()


def test_the_all_clear_needs_words_for_the_guardians(emergency_day, school_admin):
    with pytest.raises(Refused, match="Write what guardians are told now"):
        services.emergency_end(emergency_day, actor=school_admin, note="  ")
    emergency_day.refresh_from_db()
    assert emergency_day.is_emergency


def test_only_today_s_emergency_can_be_ended(emergency_day, school_admin, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 19, 9, tzinfo=PACIFIC), tick=False)
    with pytest.raises(Refused, match="Only today's emergency"):
        services.emergency_end(emergency_day, actor=school_admin, note=ALL_CLEAR)


def test_guardians_who_got_the_instructions_hear_the_all_clear_in_their_language(
    emergency_day, school, student, guardian, staff, school_admin, clock
):
    # Ana (on campus) has an English and a Spanish guardian; Leo was released in the
    # emergency; Mia went home before it (her family got no instructions); Eve is absent.
    testing.make_guardian(student, first="Rosa", last="Diaz", language="es")
    leo = testing.make_student(school, first="Leo", last="Park")
    leo_dad = testing.make_guardian(leo, first="Ken", last="Park")
    mia = testing.make_student(school, first="Mia", last="Ng")
    testing.make_guardian(mia, first="Lin", last="Ng")
    eve = testing.make_student(school, first="Eve", last="Fox")
    testing.make_guardian(eve, first="Ava", last="Fox")
    Absence.objects.create(student=eve, date=DAY)
    CustodyEvent.objects.create(day=emergency_day, student=mia, kind=Kind.RELEASED,
                                at=at(13, 50), to=To.WALK, to_label="Walkers")  # fmt: skip
    clock(14, 20)
    services.release(emergency_day, leo, adult=Adult(To.GUARDIAN, leo_dad), actor=staff,
                     verification=Verification.PHOTO_ID, reunifier="Ms. Lee",
                     comfortable=True)  # fmt: skip
    Message.objects.all().delete()  # the instructions

    queued = end(emergency_day, school_admin, clock)

    sent = Message.objects.filter(kind="all_clear")
    assert queued == sent.count() == 3  # two of Ana's guardians and Leo's, by email
    by_name = {m.guardian.first_name: m for m in sent.select_related("guardian")}
    assert set(by_name) == {"Maria", "Rosa", "Ken"}
    maria, rosa, ken = by_name["Maria"], by_name["Rosa"], by_name["Ken"]
    assert maria.language == "en" and maria.subject == (
        "All clear at Lincoln Elementary: the emergency is over")  # fmt: skip
    assert "Ana is still at school, with staff." in maria.body and ALL_CLEAR in maria.body
    assert rosa.language == "es"
    assert rosa.subject == "Todo despejado en Lincoln Elementary: la emergencia terminó"
    assert "Ana sigue en la escuela, con el personal." in rosa.body and ALL_CLEAR in rosa.body
    assert "Leo was released to Ken Park at 2:20" in ken.body
    assert all(m.created_by_id == school_admin.pk for m in sent)


def test_after_the_all_clear_the_normal_rules_return(emergency_day, school, student,
                                                     guardian, staff, school_admin,
                                                     clock):  # fmt: skip
    end(emergency_day, school_admin, clock)
    # Phone check-in again (inside the window: it opened at 2:30).
    _arrival, ids = services.check_in(emergency_day, actor=guardian.user, method="phone",
                                      guardian=guardian)  # fmt: skip
    assert ids == [student.pk]
    with pytest.raises(Refused, match=r"The emergency ended at 2:40\W+pm"):
        services.account(emergency_day, student, status=Kind.MISSING, actor=staff)
    # After dismissal and the grace minutes: nobody is flagged late on such a day, and a
    # release needs no photo ID, reunifier or yes, and is not a late pickup.
    clock(16, 0)
    assert services.flag_late(emergency_day) == []
    state = services.day_states(emergency_day).students[student.pk]
    assert not services.is_late(state, emergency_day, at(16, 0))  # the late screens agree
    event = services.release(emergency_day, student, adult=Adult(To.GUARDIAN, guardian),
                             actor=staff, verification=Verification.KNOWN)  # fmt: skip
    assert not event.late and not event.reunifier


def test_a_new_emergency_after_the_all_clear_starts_afresh(emergency_day, school_admin,
                                                           clock):  # fmt: skip
    end(emergency_day, school_admin, clock)
    clock(15, 30)
    services.emergency_start(emergency_day, actor=school_admin, message="Shelter in place.")
    emergency_day.refresh_from_db()
    assert emergency_day.is_emergency and emergency_day.emergency_at == at(15, 30)
    assert emergency_day.emergency_ended_at is None and not emergency_day.emergency_end_note


# --- the page --------------------------------------------------------------------------------


def test_a_school_admin_ends_it_after_confirming(client, emergency_day, school, student,
                                                school_admin, clock):  # fmt: skip
    client.force_login(school_admin)
    board = client.get(url("emergency", school)).content.decode()
    assert url("emergency_end", school) in board
    page = client.get(url("emergency_end", school))
    text = page.content.decode()
    assert page.status_code == 200
    assert "The guardians of <strong>1 student</strong>" in text
    assert "Not yet accounted: <strong>1</strong>" in text
    clock(14, 40)
    unconfirmed = client.post(url("emergency_end", school), {"note": ALL_CLEAR})
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm the all clear was given." in unconfirmed.content.decode()
    emergency_day.refresh_from_db()
    assert emergency_day.is_emergency and not Message.objects.filter(kind="all_clear").exists()

    response = client.post(url("emergency_end", school), {"note": ALL_CLEAR, "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == url("emergency", school)
    emergency_day.refresh_from_db()
    assert emergency_day.emergency_ended_by == school_admin
    board = client.get(response["Location"]).content.decode()
    assert "All-clear messages to guardians on their way: 1." in board
    assert 'data-testid="emergency-ended"' in board and "The emergency ended at 2:40" in board
    assert url("emergency_account", school, student.pk) not in board  # no more statuses
    assert url("emergency_desk", school) not in board
    assert 'data-testid="emergency-banner"' not in board
    overview = client.get(url("overview", school)).content.decode()
    assert "Emergency ended</span> <span>at <strong>2:40 PM</strong> by Sam Principal" in overview

    again = client.post(url("emergency_end", school), {"note": "x", "confirm": "on"}, follow=True)
    assert "The emergency already ended at 2:40" in again.content.decode()
    assert Message.objects.filter(kind="all_clear").count() == 1


def test_ending_a_day_without_an_emergency_is_refused_on_the_page(client, day, school,
                                                                  school_admin):  # fmt: skip
    client.force_login(school_admin)
    assert "there is nothing to end" in client.get(url("emergency_end", school)).content.decode()
    response = client.post(url("emergency_end", school), {"note": ALL_CLEAR, "confirm": "on"},
                           follow=True)  # fmt: skip
    assert "Today&#x27;s dismissal is not in emergency mode" in response.content.decode()
    day.refresh_from_db()
    assert day.emergency_ended_at is None


def test_only_the_school_s_administrators_may_end_it(client, emergency_day, school, staff,
                                                     teacher, guardian, other_school,
                                                     district_admin):  # fmt: skip
    other_admin = testing.make_staff(other_school, Role.SCHOOL_ADMIN)
    other_staff = testing.make_staff(other_school, Role.DISMISSAL_STAFF)
    data = {"note": ALL_CLEAR, "confirm": "on"}
    for user, status in [(staff, 403), (teacher, 403), (other_staff, 404), (other_admin, 404),
                         (guardian.user, 404)]:  # fmt: skip
        client.force_login(user)
        assert client.get(url("emergency_end", school)).status_code == status, user
        assert client.post(url("emergency_end", school), data).status_code == status, user
    emergency_day.refresh_from_db()
    assert emergency_day.is_emergency
    assert not Message.objects.filter(kind="all_clear").exists()
    client.force_login(staff)
    board = client.get(url("emergency", school)).content.decode()
    assert "Only the school's administrators can end the emergency" in board
    assert url("emergency_end", school) not in board
    client.force_login(district_admin)
    assert client.post(url("emergency_end", school), data).status_code == 302
    emergency_day.refresh_from_db()
    assert emergency_day.emergency_ended


def test_an_open_reunification_form_releases_nobody_after_the_end(client, emergency_day,
                                                                  school, student, guardian,
                                                                  staff, school_admin,
                                                                  clock):  # fmt: skip
    end(emergency_day, school_admin, clock)
    client.force_login(staff)
    form = {"adult": f"guardian:{guardian.pk}", "photo_id": "on", "reunifier": "Ms. Lee",
            "comfortable": "no"}  # fmt: skip
    response = client.post(url("emergency_student", school, student.pk), form, follow=True)
    text = response.content.decode()
    assert "The emergency has ended: nothing was released." in text
    assert not CustodyEvent.objects.filter(kind=Kind.RELEASED).exists()
    assert url("release", school, student.pk) in text  # the way to release now
    assert 'class="form card reunify"' not in text
    desk = client.get(url("emergency_desk", school)).content.decode()
    assert 'id="id_q"' not in desk and 'data-testid="emergency-ended"' in desk


# --- the log ---------------------------------------------------------------------------------


def test_the_log_records_the_end(client, emergency_day, school, student, guardian, staff,
                                 school_admin, clock):  # fmt: skip
    end(emergency_day, school_admin, clock)
    client.force_login(staff)
    response = client.get(url("emergency_log_csv", school))
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith(' emergency log 2026-11-18.csv"')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8").lstrip("\ufeff"))))
    facts = {row[0]: row[1] for row in rows if len(row) == 2}
    assert (facts["Emergency ended"], facts["Ended by"], facts["All clear sent"]) == (
        "14:40:00", "Sam Principal", ALL_CLEAR)  # fmt: skip
    events = [row for row in rows if len(row) == 11][1:]
    assert [(row[0], row[3], row[8], row[9]) for row in events] == [
        ("14:10:00", "Switched to emergency", "Sam Principal", "St. Mark's, 12 Elm St"),
        ("14:40:00", "Emergency ended (all clear)", "Sam Principal", ALL_CLEAR),
    ]

    pdf = client.get(url("emergency_log_pdf", school))
    assert pdf.status_code == 200
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Emergency reunification log" in text
    assert "Emergency ended 2:40:00 p.m., all clear given by Sam Principal" in text
    assert "Emergency ended (all clear)" in text and ALL_CLEAR in text
