"""Emergency reunification pages (DESIGN.md §3, issue 5 §7): the switch, the desk and the
release, the accountability board, and the log of the day as PDF and CSV."""

import csv
import datetime as dt
import io

import pypdf
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.attendance.models import Absence
from lastbell.audit.models import AuditEvent
from lastbell.dismissal import services
from lastbell.dismissal.models import CustodyEvent, DismissalDay, Verification
from lastbell.dismissal.services import Adult
from lastbell.messaging.models import Message
from lastbell.people.models import AuthorizedAdult, CustodyRestriction

Kind, To = CustodyEvent.Kind, CustodyEvent.To
DAY = dt.date(2026, 11, 18)  # a Wednesday; the fixture schools dismiss at 3 pm Pacific
PACIFIC = dt.timezone(dt.timedelta(hours=-8))


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 18, 14, 10, tzinfo=PACIFIC), tick=False)


@pytest.fixture
def school_admin(school):
    return testing.make_staff(school, Role.SCHOOL_ADMIN, first="Sam", last="Principal")


@pytest.fixture
def day(school, clock):
    return services.day_of(school, DAY)


@pytest.fixture
def emergency_day(day, school_admin):
    services.emergency_start(day, actor=school_admin, message="Go to the church lot.",
                             site="St. Mark's, 12 Elm St")  # fmt: skip
    day.refresh_from_db()
    return day


def url(name, school, *args, **query):
    path = reverse(f"dismissal:{name}", args=[school.id, *args])
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return path


def release_form(guardian, **fields):
    return {"adult": f"guardian:{guardian.pk}", "photo_id": "on", "reunifier": "Ms. Lee",
            "comfortable": "yes", **fields}  # fmt: skip


# --- who may -------------------------------------------------------------------------------


def test_it_hides_the_emergency_pages_of_another_school(client, day, school, student,
                                                          other_staff):  # fmt: skip
    client.force_login(other_staff)
    for name, args in [("emergency", ()), ("emergency_start", ()), ("emergency_desk", ()),
                       ("emergency_student", (student.pk,)), ("emergency_log_csv", ()),
                       ("emergency_log_pdf", ())]:  # fmt: skip
        assert client.get(url(name, school, *args)).status_code == 404, name
    assert client.post(url("emergency_start", school)).status_code == 404
    assert client.post(url("emergency_account", school, student.pk)).status_code == 404


def test_it_lets_only_administrators_switch_to_emergency(client, day, school, staff, teacher):
    for user in (staff, teacher):
        client.force_login(user)
        assert client.get(url("emergency_start", school)).status_code == 403
        response = client.post(url("emergency_start", school),
                               {"message": "Go", "confirm": school.name})  # fmt: skip
        assert response.status_code == 403
    day.refresh_from_db()
    assert day.mode == DismissalDay.Mode.NORMAL
    assert not Message.objects.exists()


def test_it_keeps_teachers_and_guardians_out(client, emergency_day, school, student, teacher,
                                             guardian):  # fmt: skip
    pages = [("emergency", ()), ("emergency_desk", ()), ("emergency_student", (student.pk,)),
             ("emergency_log_csv", ()), ("emergency_log_pdf", ())]  # fmt: skip
    client.force_login(teacher)
    for name, args in pages:
        assert client.get(url(name, school, *args)).status_code == 403, name
    response = client.post(url("emergency_account", school, student.pk), {"status": "missing"})
    assert response.status_code == 403
    client.force_login(guardian.user)
    for name, args in pages:
        assert client.get(url(name, school, *args)).status_code == 404, name
    assert not CustodyEvent.objects.exists()


def test_it_hides_the_events_of_another_school(client, day, other_school, staff):
    elsewhere = services.day_of(other_school, DAY)
    admin = testing.make_staff(other_school, Role.SCHOOL_ADMIN)
    services.emergency_start(elsewhere, actor=admin, message="Go.")
    kid = testing.make_student(other_school)
    event = services.account(elsewhere, kid, status=Kind.MISSING, actor=admin)
    client.force_login(staff)
    response = client.post(url("emergency_undo", day.school, event.pk), {"reason": "x"})
    assert response.status_code == 404
    assert not CustodyEvent.objects.filter(kind=Kind.UNDONE).exists()


def test_it_sends_anonymous_visitors_to_sign_in(client, day, school):
    response = client.get(url("emergency", school))
    assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]


# --- the switch ----------------------------------------------------------------------------


def test_the_switch_asks_for_the_school_s_name(client, day, school, student, guardian,
                                               school_admin):  # fmt: skip
    client.force_login(school_admin)
    page = client.get(url("emergency_start", school))
    assert page.status_code == 200
    assert "1 student still on campus" in page.content.decode()
    response = client.post(url("emergency_start", school),
                           {"message": "Go to the church lot.", "confirm": "Lincoln"})  # fmt: skip
    assert response.status_code == 400
    assert "Type the school&#x27;s name as shown" in response.content.decode()
    blank = client.post(url("emergency_start", school), {"message": "Go.", "confirm": ""})
    assert "Type the school&#x27;s name to switch to emergency." in blank.content.decode()
    day.refresh_from_db()
    assert day.mode == DismissalDay.Mode.NORMAL
    assert not Message.objects.exists()


def test_the_switch_tells_guardians_audits_and_shows_a_banner(client, day, school, student,
                                                              guardian, school_admin):  # fmt: skip
    client.force_login(school_admin)
    response = client.post(url("emergency_start", school), {
        "message": "Go to the church lot.", "site": "St. Mark's, 12 Elm St",
        "confirm": "  lincoln   ELEMENTARY ",
    })  # fmt: skip
    assert response.status_code == 302 and response["Location"] == url("emergency", school)
    day.refresh_from_db()
    assert (day.mode, day.emergency_by, day.reunification_site) == (
        DismissalDay.Mode.EMERGENCY, school_admin, "St. Mark's, 12 Elm St")  # fmt: skip
    sent = Message.objects.get(kind="emergency")
    assert sent.student_id == student.pk and "Go to the church lot." in sent.body
    audit = AuditEvent.objects.get(action="dismissal.emergency")
    assert audit.actor_id == school_admin.pk and audit.after["mode"] == "emergency"
    board = client.get(response["Location"])
    text = board.content.decode()
    assert 'data-testid="emergency-banner"' in text and "St. Mark&#x27;s, 12 Elm St" in text
    assert "Messages to guardians on their way: 1." in text
    # A second switch changes nothing.
    again = client.get(url("emergency_start", school))
    assert "already in emergency mode" in again.content.decode()
    client.post(url("emergency_start", school), {"message": "x", "confirm": school.name})
    assert Message.objects.filter(kind="emergency").count() == 1


def test_a_district_admin_may_switch(client, day, school, district_admin):
    client.force_login(district_admin)
    response = client.post(url("emergency_start", school),
                           {"message": "Shelter in place.", "confirm": school.name})  # fmt: skip
    assert response.status_code == 302
    day.refresh_from_db()
    assert day.is_emergency


def test_without_emergency_the_pages_say_so(client, day, school, student, staff):
    client.force_login(staff)
    text = client.get(url("emergency", school)).content.decode()
    assert "Today's dismissal is normal" in text
    assert "Only the school's administrators can switch" in text
    response = client.get(url("emergency_student", school, student.pk))
    assert response.status_code == 302
    response = client.post(url("emergency_account", school, student.pk), {"status": "missing"})
    assert response.status_code == 302
    assert not CustodyEvent.objects.exists()


# --- the desk and the release --------------------------------------------------------------


def test_the_desk_finds_a_student_and_lists_the_pickup_people(
    client, emergency_day, school, student, guardian, staff
):
    AuthorizedAdult.objects.create(
        student=student, first_name="Tom", last_name="Rivera", relationship="Uncle",
        phone="555-0101", source="staff",
    )  # fmt: skip
    CustodyRestriction.objects.create(
        student=student, person_name="Tom Rivera", kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=dt.date(2026, 1, 1),
    )  # fmt: skip
    client.force_login(staff)
    found = client.get(url("emergency_desk", school, q="rivera")).content.decode()
    assert url("emergency_student", school, student.pk) in found
    page = client.get(url("emergency_student", school, student.pk)).content.decode()
    assert "Maria Lopez" in page and "Tom Rivera" in page
    assert "Court order: do not release" in page and "FL-2026-0042" in page


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("photo_id", "Check the adult&#x27;s photo ID first"),
        ("reunifier", "Say which staff member brought the student"),
        ("comfortable", "Ask the student, then choose yes or no"),
        ("adult", "Choose the adult who is here"),
    ],
)
def test_a_release_needs_every_step(client, emergency_day, school, student, guardian, staff,
                                    missing, message):  # fmt: skip
    client.force_login(staff)
    data = release_form(guardian)
    del data[missing]
    response = client.post(url("emergency_student", school, student.pk), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CustodyEvent.objects.filter(kind=Kind.RELEASED).exists()


def test_a_student_who_says_no_is_not_released(client, emergency_day, school, student,
                                               guardian, staff):  # fmt: skip
    client.force_login(staff)
    response = client.post(url("emergency_student", school, student.pk),
                           release_form(guardian, comfortable="no"))  # fmt: skip
    assert response.status_code == 409
    text = response.content.decode()
    assert 'role="alert" data-testid="refused"' in text
    assert "Ana must say they are comfortable leaving with Maria Lopez" in text
    assert not CustodyEvent.objects.filter(kind=Kind.RELEASED).exists()


def test_a_restricted_adult_is_blocked_with_the_court_order(client, emergency_day, school,
                                                            student, guardian, staff):  # fmt: skip
    CustodyRestriction.objects.create(
        student=student, person_name="maria lopez", kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=dt.date(2026, 1, 1),
    )  # fmt: skip
    client.force_login(staff)
    response = client.post(url("emergency_student", school, student.pk), release_form(guardian))
    assert response.status_code == 409
    text = response.content.decode()
    assert 'role="alert" data-testid="blocked"' in text
    assert "Do not release Ana Rivera to Maria Lopez" in text and "FL-2026-0042" in text
    assert not CustodyEvent.objects.filter(kind=Kind.RELEASED).exists()


def test_a_release_records_the_reunification(client, emergency_day, school, student, guardian,
                                             staff):  # fmt: skip
    client.force_login(staff)
    response = client.post(url("emergency_student", school, student.pk),
                           release_form(guardian, note="Left by the east gate"))  # fmt: skip
    assert response.status_code == 302
    event = CustodyEvent.objects.get(kind=Kind.RELEASED)
    assert (event.to_label, event.verification, event.reunifier, event.comfortable, event.by,
            event.note) == ("Maria Lopez", Verification.PHOTO_ID, "Ms. Lee", True, staff,
                            "Left by the east gate")  # fmt: skip
    page = client.get(url("emergency_student", school, student.pk)).content.decode()
    assert "has left with Maria Lopez" in page and "Release Ana" not in page


def test_a_release_to_someone_not_on_file_is_refused(client, emergency_day, school, student,
                                                     guardian, staff, other_school):  # fmt: skip
    stranger = testing.make_guardian(testing.make_student(other_school), first="Sol")
    client.force_login(staff)
    data = {**release_form(guardian), "adult": f"guardian:{stranger.pk}"}
    response = client.post(url("emergency_student", school, student.pk), data)
    assert response.status_code == 400  # not one of the choices
    assert not CustodyEvent.objects.filter(kind=Kind.RELEASED).exists()


def test_a_release_can_be_undone_from_the_student_s_log(client, emergency_day, school, student,
                                                        guardian, staff):  # fmt: skip
    client.force_login(staff)
    client.post(url("emergency_student", school, student.pk), release_form(guardian))
    released = CustodyEvent.objects.get(kind=Kind.RELEASED)
    unexplained = client.post(url("emergency_undo", school, released.pk), {"reason": " "},
                              follow=True)  # fmt: skip
    assert "Say why, for the record" in unexplained.content.decode()
    assert not CustodyEvent.objects.filter(kind=Kind.UNDONE).exists()
    response = client.post(url("emergency_undo", school, released.pk), {"reason": "Wrong child"})
    assert response.status_code == 302
    assert services.day_states(emergency_day).students[student.pk].released is None
    assert CustodyEvent.objects.get(kind=Kind.UNDONE).note == "Wrong child"


# --- the accountability board --------------------------------------------------------------


def test_the_board_counts_every_status(client, emergency_day, school, homeroom, student,
                                       guardian, staff):  # fmt: skip
    ben = testing.make_student(school, first="Ben", last="Okafor", homeroom=homeroom)
    cy = testing.make_student(school, first="Cy", last="Moss", grade="4")
    dee = testing.make_student(school, first="Dee", last="Ng", grade="4")
    eve = testing.make_student(school, first="Eve", last="Park", grade="4")
    Absence.objects.create(student=eve, date=DAY)
    client.force_login(staff)
    board = url("emergency", school)
    for pupil, status in [(ben, "accounted"), (cy, "missing"), (dee, "injured"),
                          (cy, "accounted")]:  # fmt: skip
        response = client.post(url("emergency_account", school, pupil.pk),
                               {"status": status, "next": board + "?grade=4"})  # fmt: skip
        assert response["Location"] == f"{board}?grade=4#s{pupil.pk}"
    client.post(url("emergency_student", school, student.pk), release_form(guardian))
    text = client.get(board).content.decode()

    def count(key):
        marker = f'data-testid="count-{key}">'
        return int(text.split(marker)[1].split("<")[0])

    assert {k: count(k) for k in ("unaccounted", "accounted", "missing", "injured", "released",
                                  "absent")} == {"unaccounted": 0, "accounted": 2,
                                                 "missing": 0, "injured": 1, "released": 1,
                                                 "absent": 1}  # fmt: skip
    assert "data-live-region" in text and 'data-live="' in text
    # Filters narrow the list, not the counts.
    fours = client.get(board, {"grade": "4", "status": "accounted"}).content.decode()
    assert "Moss, Cy" in fours and "Okafor, Ben" not in fours and "Ng, Dee" not in fours
    room = client.get(board, {"homeroom": str(homeroom.pk)}).content.decode()
    assert "Okafor, Ben" in room and "Moss, Cy" not in room


def test_the_board_refuses_a_status_for_a_released_student(client, emergency_day, school,
                                                           student, guardian, staff):  # fmt: skip
    client.force_login(staff)
    client.post(url("emergency_student", school, student.pk), release_form(guardian))
    response = client.post(url("emergency_account", school, student.pk), {"status": "missing"},
                           follow=True)  # fmt: skip
    assert "Ana was already released" in response.content.decode()
    assert not CustodyEvent.objects.filter(kind=Kind.MISSING).exists()


def test_a_next_address_elsewhere_is_ignored(client, emergency_day, school, student, staff):
    client.force_login(staff)
    response = client.post(url("emergency_account", school, student.pk),
                           {"status": "accounted", "next": "https://evil.example/"})  # fmt: skip
    assert response["Location"] == f"{url('emergency', school)}#s{student.pk}"


@pytest.mark.parametrize("students", [3, 30])
def test_the_board_costs_the_same_queries_for_any_number(client, emergency_day, school, staff,
                                                         students):  # fmt: skip
    for n in range(students):
        kid = testing.make_student(school, first=f"Kid{n}")
        services.account(emergency_day, kid, status=Kind.ACCOUNTED, actor=staff)
    client.force_login(staff)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("emergency", school))
    assert response.status_code == 200
    assert len(queries) <= 22, [q["sql"][:80] for q in queries.captured_queries]


# --- the log ---------------------------------------------------------------------------------


@pytest.fixture
def logged(emergency_day, school, student, guardian, staff):
    formula = testing.make_student(school, first='=HYPERLINK("http://x")', last="Cell")
    services.account(emergency_day, formula, status=Kind.INJURED, actor=staff,
                     note="+ankle, with the nurse")  # fmt: skip
    services.release(emergency_day, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                     verification=Verification.PHOTO_ID, reunifier="Ms. Lee",
                     comfortable=True)  # fmt: skip
    return formula


def test_the_csv_log_lists_every_event_with_the_counts(client, logged, school, student, staff):
    client.force_login(staff)
    response = client.get(url("emergency_log_csv", school))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="Lincoln Elementary emergency log 2026-11-18.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8").lstrip("\ufeff"))))
    facts = {row[0]: row[1] for row in rows if len(row) == 2}
    assert facts["Mode"] == "Emergency" and facts["Reunification site"] == "St. Mark's, 12 Elm St"
    assert facts["Released"] == "1" and facts["Injured"] == "1"
    header = rows.index(["Time", "Student", "Student ID", "Event", "To", "Verification",
                         "Reunifier", "Comfortable", "By", "Note", "Undone later"])  # fmt: skip
    switched, *events = rows[header + 1 :]
    assert switched[3:4] + switched[8:10] == ["Switched to emergency", "Sam Principal",
                                              "St. Mark's, 12 Elm St"]  # fmt: skip
    assert facts["Emergency ended"] == "not yet"
    assert events[0][1:4] == ['\'=HYPERLINK("http://x") Cell', logged.sis_id, "Injured"]
    assert events[0][9] == "'+ankle, with the nurse"
    assert events[1][0] == "14:10:00"
    assert events[1][1:9] == ["Ana Rivera", student.sis_id, "Released", "Maria Lopez",
                              "Photo ID", "Ms. Lee", "Yes", "Dana Office"]  # fmt: skip


def test_the_pdf_log_names_the_students(client, logged, school, staff):
    client.force_login(staff)
    response = client.get(url("emergency_log_pdf", school))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"].endswith(' emergency log 2026-11-18.pdf"')
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())  # names wrap in narrow columns
    assert "Ana Rivera" in text and "Maria Lopez" in text and "Ms. Lee" in text
    assert "St. Mark's, 12 Elm St" in text


def test_a_past_day_s_log_is_there_and_a_day_without_one_is_not(client, logged, school, staff):
    client.force_login(staff)
    assert client.get(url("emergency_log_csv", school, date="2026-11-18")).status_code == 200
    assert client.get(url("emergency_log_csv", school, date="2026-11-10")).status_code == 404
