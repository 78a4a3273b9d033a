"""The staff dismissal screens (issue 5): overview, curb, classroom, release, groups, undo,
late pickups and a student's chain of custody, for every persona."""

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.dismissal import services
from lastbell.dismissal.models import Arrival, CarTag, CustodyEvent, TagStudent, Verification
from lastbell.dismissal.services import Adult
from lastbell.people.models import AuthorizedAdult, CustodyRestriction, GuardianLink
from lastbell.plans.board import board_cache
from lastbell.plans.models import PlanType
from lastbell.plans.services import PlanSpec, default_set

Kind, To = CustodyEvent.Kind, CustodyEvent.To
DAY = dt.date(2026, 11, 18)  # a Wednesday; the fixture schools dismiss at 3 pm Pacific
PACIFIC = dt.timezone(dt.timedelta(hours=-8))


def at(hour, minute=0):
    return dt.datetime(2026, 11, 18, hour, minute, tzinfo=PACIFIC)


@pytest.fixture
def clock(time_machine):
    def move(hour, minute=0):
        time_machine.move_to(at(hour, minute), tick=False)
        return at(hour, minute)

    move(14, 50)
    return move


@pytest.fixture
def day(school, clock):
    return services.day_of(school, DAY)


@pytest.fixture
def sibling(school, guardian, homeroom):
    kid = testing.make_student(school, first="Leo", last="Rivera", homeroom=homeroom, grade="1")
    GuardianLink.objects.create(guardian=guardian, student=kid, relationship="Parent")
    return kid


@pytest.fixture
def tag(school, student, sibling):
    found = CarTag.objects.create(school=school, number=14)
    TagStudent.objects.bulk_create([TagStudent(tag=found, student=s) for s in (student, sibling)])
    return found


def plan(student, plan_type, actor, **spec):
    default_set(student=student, days=dict.fromkeys(range(7), PlanSpec(plan_type, **spec)),
                actor=actor, starts_on=DAY)  # fmt: skip


def url(name, school, *args, **query):
    path = reverse(f"dismissal:{name}", args=[school.id, *args])
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def text(response) -> str:
    """The page's text without tags and with spaces collapsed, for reading assertions."""
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(body))


def check_in(day, tag, staff):
    arrival, _ids = services.check_in(day, actor=staff, method=Arrival.Method.TAG, tag=tag)
    return arrival


def released(student):
    return CustodyEvent.objects.filter(student=student, kind=Kind.RELEASED)


# --- who may open what ------------------------------------------------------------------------

VIEW, STAFF = "view", "staff"  # a teacher opens the first kind (own homeroom), not the second
PAGES = [
    ("overview", "GET", VIEW),
    ("curb", "GET", STAFF),
    ("check_in", "POST", STAFF),
    ("classroom", "GET", VIEW),
    ("sent", "POST", VIEW),
    ("release_search", "GET", STAFF),
    ("release", "GET", STAFF),
    ("release", "POST", STAFF),
    ("groups", "GET", STAFF),
    ("group_release", "POST", STAFF),
    ("group_undo", "GET", STAFF),
    ("group_undo", "POST", STAFF),
    ("undo", "GET", STAFF),
    ("undo", "POST", STAFF),
    ("late", "GET", VIEW),
    ("timeline", "GET", VIEW),
]
PERSONAS = ["anonymous", "staff", "other_staff", "district_admin", "teacher", "guardian"]


def _request(client, name, method, school, student, guardian, event):
    args = {"release": [student.pk], "timeline": [student.pk], "undo": [event.pk]}.get(name, [])
    data = {
        "check_in": {"method": "tag", "number": "14"},
        "sent": {"student": student.pk},
        "release": {"person": f"guardian:{guardian.pk}", "verification": "known"},
        "group_release": {"group": "walk", "student": student.pk},
        "group_undo": {"group": "walk", "reason": "Wrong group"},
        "undo": {"reason": "Wrong tag"},
    }.get(name, {})
    target = reverse(f"dismissal:{name}", args=[school.id, *args])
    if name == "group_undo" and method == "GET":
        target += "?group=walk"
    return client.get(target) if method == "GET" else client.post(target, data)


@pytest.mark.parametrize(("name", "method", "kind", "persona"), [
    pytest.param(name, method, kind, persona, id=f"{name}-{method}-{persona}")
    for name, method, kind in PAGES for persona in PERSONAS
])  # fmt: skip
def test_it_answers_each_persona_as_the_access_rules_say(
    client, request, day, school, student, guardian, tag, staff, name, method, kind, persona
):
    plan(student, PlanType.WALK, staff)
    event = CustodyEvent.objects.get(
        pk=check_in(day, tag, staff).custodyevent_set.get(student=student).pk
    )
    if persona != "anonymous":
        user = request.getfixturevalue(persona)
        client.force_login(user.user if persona == "guardian" else user)
    before = CustodyEvent.objects.count()

    r = _request(client, name, method, school, student, guardian, event)

    if persona == "anonymous":
        assert r.status_code == 302 and r.url.startswith(reverse("accounts:login"))
    elif persona in ("other_staff", "guardian"):
        assert r.status_code == 404
        assert b"Lincoln Elementary" not in r.content
    elif persona == "teacher" and kind == STAFF:
        assert r.status_code == 403
    else:
        assert r.status_code == (200 if method == "GET" else 302), r.content.decode()[:2000]
    if r.status_code != 302:
        assert CustodyEvent.objects.count() == before  # refused: nothing written


def test_a_teacher_sees_and_sends_only_their_own_homeroom(
    client, day, school, student, tag, staff, teacher
):
    other_room = testing.make_homeroom(school, "Room 14")
    other = testing.make_student(school, first="Zoe", last="Other", homeroom=other_room)
    other_tag = CarTag.objects.create(school=school, number=15)
    TagStudent.objects.create(tag=other_tag, student=other)
    check_in(day, tag, staff)
    check_in(day, other_tag, staff)
    client.force_login(teacher)

    page = text(client.get(url("classroom", school)))
    assert "Ana Rivera" in page and "Zoe Other" not in page
    assert "Room 14" not in page  # not even in the homeroom list
    assert client.get(url("classroom", school, homeroom=other_room.pk)).status_code == 200
    assert "Zoe Other" not in text(client.get(url("classroom", school, homeroom=other_room.pk)))
    r = client.post(url("sent", school), {"student": other.pk})
    assert r.status_code == 404
    assert not CustodyEvent.objects.filter(kind=Kind.SENT).exists()
    assert client.get(url("timeline", school, other.pk)).status_code == 404


# --- overview --------------------------------------------------------------------------------


def test_the_overview_counts_on_campus_and_released_by_type(
    client, day, school, student, sibling, guardian, route, staff
):
    plan(student, PlanType.BUS, staff, bus_route=route)
    plan(sibling, PlanType.WALK, staff)
    testing.make_student(school, first="Nia", last="Noplan")
    services.release_group(day, [sibling.pk], to=To.WALK, label="Walkers", actor=staff)
    client.force_login(staff)

    r = client.get(url("overview", school))

    assert r.status_code == 200
    page = text(r)
    assert "Normal day" in page and "Dismissal at 3:00 PM" in page and "late after 3:10 PM" in page
    counts = r.content.decode()
    assert re.search(r'data-testid="on-campus">2<', counts)
    assert re.search(r'data-testid="released">1<', counts)
    assert re.search(r'data-type="bus">.*?<td class="num">1</td><td class="num">0</td>', counts)
    assert re.search(r'data-type="walk">.*?<td class="num">0</td><td class="num">1</td>', counts)
    assert re.search(r'data-type="none">.*?<td class="num">1</td><td class="num">0</td>', counts)
    assert re.search(r'data-testid="late">0<', counts)
    for screen in ("curb", "classroom", "release_search", "groups", "late"):
        assert url(screen, school) in counts


def test_the_school_tabs_lead_to_the_dismissal(client, on_school_day, school, teacher):
    client.force_login(teacher)
    page = client.get(reverse("plans:dashboard", args=[school.id])).content.decode()
    assert f'href="{url("overview", school)}"' in page and ">Dismissal</a>" in page


@pytest.mark.parametrize("name", ["tags", "emergency", "reports"])
def test_the_other_dismissal_pages_keep_the_screens_bar(client, day, school, staff, name):
    """Car tags, emergency and reports are reached from the screens' bar, and show it too,
    with their own screen marked: staff move between them at the busiest moment."""
    client.force_login(staff)
    page = client.get(reverse(f"dismissal:{name}", args=[school.id])).content.decode()
    bar = page.split('aria-label="Dismissal screens"')[1].split("</nav>")[0]
    assert f'href="{reverse("dismissal:curb", args=[school.id])}"' in bar
    current = re.findall(r'href="([^"]+)" aria-current="page"', bar)
    assert current == [reverse(f"dismissal:{name}", args=[school.id])]


def test_a_day_without_school_says_so_and_takes_no_check_in(client, school, staff, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 21, 15, 0, tzinfo=PACIFIC), tick=False)  # Sat
    client.force_login(staff)
    assert "No dismissal today" in text(client.get(url("overview", school)))
    assert "No dismissal today" in text(client.get(url("curb", school)))
    r = client.post(url("check_in", school), {"method": "tag", "number": "1"}, follow=True)
    assert "There is no dismissal today" in text(r)
    assert not Arrival.objects.exists()


def test_a_live_refresh_gets_only_the_live_part(client, day, school, staff):
    client.force_login(staff)
    for screen in ("overview", "curb", "classroom", "groups", "late", "release_search"):
        r = client.get(url(screen, school), headers={"HX-Request": "true", "HX-Target": "live"})
        body = r.content.decode()
        assert r.status_code == 200
        assert body.lstrip().startswith('<div id="live" data-live-region>'), screen
        assert "<html" not in body
    page = client.get(url("curb", school)).content.decode()
    assert 'data-live="/schools/' in page and 'id="live-status"' in page


# --- curb ------------------------------------------------------------------------------------


def test_curb_checks_a_family_in_by_tag_number(client, day, school, student, sibling, tag, staff):
    client.force_login(staff)

    r = client.post(url("check_in", school), {"method": "tag", "number": "14", "door": "North",
                                              "adult_name": "Tía Carmen"})  # fmt: skip

    assert r.status_code == 302 and r.url == url("curb", school, door="North")
    arrival = Arrival.objects.get()
    assert (arrival.tag, arrival.method, arrival.door, arrival.by) == (tag, "tag", "North", staff)
    states = services.day_states(day).students
    assert states[student.pk].status == states[sibling.pk].status == "waiting"
    page = text(client.get(r.url))
    assert "Tía Carmen checked in for Ana Rivera and Leo Rivera" in page
    queue = client.get(r.url).content.decode().split('data-testid="queue"')[1]
    assert "Tía Carmen" in queue and "tag 14" in queue and "door North" in queue
    assert "Family here" in queue
    assert url("release", school, student.pk) in queue


def test_curb_says_what_to_do_with_an_unknown_tag_or_an_early_check_in(
    client, day, school, tag, staff, clock
):
    client.force_login(staff)
    r = client.post(url("check_in", school), {"method": "tag", "number": "99"})
    assert r.status_code == 400
    assert "No car tag 99 at this school. Check the number, or search" in text(r)
    clock(14, 0)
    r = client.post(url("check_in", school), {"method": "tag", "number": "14"})
    assert r.status_code == 409
    assert re.search(r'role="alert"><p>Check-in opens at 2:30', r.content.decode())
    assert not Arrival.objects.exists()


@pytest.mark.parametrize("scanned", ["{code}", "https://lastbell.example/t/{code}",
                                     "https://lastbell.example/tag?code={code}"])  # fmt: skip
def test_curb_checks_in_by_the_family_qr_code(client, day, school, tag, staff, scanned):
    client.force_login(staff)
    code = scanned.format(code=tag.code)
    r = client.post(url("check_in", school), {"method": "qr", "code": code})
    assert r.status_code == 302
    assert Arrival.objects.get().method == Arrival.Method.QR


def test_a_hang_tag_opened_by_a_phone_camera_asks_staff_to_confirm(
    client, day, school, student, sibling, tag, staff
):
    """The printed QR code carries the curb screen's address with the tag's code."""
    client.force_login(staff)
    scanned = f"http://testserver{url('curb', school)}?code={tag.code}"

    r = client.get(url("curb", school), {"code": scanned})

    assert "Tag 14: Ana Rivera and Leo Rivera" in text(r)
    assert not Arrival.objects.exists()  # a GET checks nobody in
    r = client.post(url("check_in", school), {"method": "qr", "code": scanned})
    assert r.status_code == 302 and Arrival.objects.get().tag == tag
    r = client.get(url("curb", school), {"code": "nonsense"})
    assert "That QR code is not one of this school's car tags" in text(r)


def test_curb_refuses_another_school_s_qr_code(client, day, school, other_school, staff):
    elsewhere = CarTag.objects.create(school=other_school, number=14)
    client.force_login(staff)
    r = client.post(url("check_in", school), {"method": "qr", "code": elsewhere.code})
    assert r.status_code == 400
    assert "not one of this school's car tags" in text(r)


def test_curb_finds_a_family_by_name_and_checks_in_a_guardian(
    client, day, school, student, sibling, guardian, tag, staff
):
    client.force_login(staff)
    for query in ("rivera ana", "Lopez", "maria"):
        page = text(client.get(url("curb", school, q=query)))
        assert "Rivera, Ana" in page, query
        assert "Check in — tag 14" in page and "Check in — Maria Lopez (parent)" in page

    r = client.post(url("check_in", school), {"method": "name", "guardian": guardian.pk})

    assert r.status_code == 302
    arrival = Arrival.objects.get()
    assert (arrival.guardian, arrival.adult_name, arrival.method) == (guardian, "Maria Lopez",
                                                                      "name")  # fmt: skip
    assert "Nobody at school today matches" in text(client.get(url("curb", school, q="Zed")))

    # One letter finds nobody by design: the page says to type more, not "nobody matches".
    one = text(client.get(url("curb", school, q="a")))
    assert "Type at least two letters of the name." in one and "Nobody" not in one


def test_curb_says_when_no_family_has_a_car_tag_yet(client, day, school, student, staff):
    client.force_login(staff)
    assert 'data-testid="no-tags"' in client.get(url("curb", school)).content.decode()
    CarTag.objects.create(school=school, number=1)
    assert 'data-testid="no-tags"' not in client.get(url("curb", school)).content.decode()


def test_curb_offers_no_check_in_to_a_restricted_guardian(client, day, school, student, staff):
    father = testing.make_guardian(student, first="Carlos", last="Rivera", with_user=False)
    CustodyRestriction.objects.create(
        student=student, person_name="Carlos Rivera", kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=dt.date(2026, 1, 1),
    )  # fmt: skip
    client.force_login(staff)
    page = text(client.get(url("curb", school, q="Carlos")))
    assert "Custody order: do not release to Carlos Rivera" in page
    assert "Check in — Carlos Rivera" not in page
    # A guardian of another school's student cannot be checked in here.
    stranger = testing.make_guardian(testing.make_student(testing.make_school(school.district)))
    r = client.post(url("check_in", school), {"method": "name", "guardian": stranger.pk})
    assert r.status_code == 400 and "Search again and choose who is here" in text(r)
    r = client.post(url("check_in", school), {"method": "name", "guardian": father.pk})
    assert r.status_code == 409 and "No child to pick up at this school today" in text(r)
    assert not Arrival.objects.exists()


# --- classroom -------------------------------------------------------------------------------


def test_the_classroom_shows_students_called_and_sends_them(
    client, day, school, student, sibling, tag, staff, teacher
):
    client.force_login(teacher)
    assert "Nobody called right now." in text(client.get(url("classroom", school)))
    check_in(day, tag, staff)

    r = client.get(url("classroom", school))

    called = r.content.decode().split('data-testid="called"')[1].split("</ul>")[0]
    assert "Ana Rivera" in called and "Leo Rivera" in called
    assert "Send all 2" in text(r)
    r = client.post(url("sent", school), {"student": student.pk})
    assert r.status_code == 302 and r.url == url("classroom", school)
    page = client.get(r.url)
    assert "Sent Ana Rivera to the door." in text(page)
    sent_list = page.content.decode().split('data-testid="sent"')[1].split("</ul>")[0]
    assert "Ana Rivera" in sent_list
    assert services.day_states(day).students[student.pk].status == "sent"

    r = client.post(url("sent", school), {"student": [student.pk, sibling.pk], "grade": "1"})
    assert r.url == url("classroom", school, grade="1")
    assert "Sent Leo Rivera to the door." in text(client.get(r.url))
    assert CustodyEvent.objects.filter(kind=Kind.SENT).count() == 2
    assert AuditEvent.objects.filter(action="dismissal.sent").count() == 2


@pytest.mark.django_db(transaction=True)  # the answer is the region shared between commits
def test_sent_from_the_screen_by_htmx_answers_with_its_region_and_message(
    client, school, student, sibling, tag, staff, teacher, clock
):
    day = services.day_of(school, DAY)
    check_in(day, tag, staff)
    client.force_login(teacher)
    hx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "live"}

    r = client.post(url("sent", school), {"student": student.pk, "homeroom": "", "grade": ""},
                    **hx)  # fmt: skip

    assert r.status_code == 200  # no redirect: the page and its stream stay
    body = r.content.decode()
    region, _, oob = body.partition('<div class="messages" id="messages"')
    assert region.lstrip().startswith('<div id="live"')
    called = region.split('data-testid="called"')[1].split("</ul>")[0]
    assert "Leo Rivera" in called and "Ana Rivera" not in called
    assert "Ana Rivera" in region.split('data-testid="sent"')[1].split("</ul>")[0]
    assert 'hx-swap-oob="true"' in oob and "Sent Ana Rivera to the door." in oob
    # The same region as the screen's own live refresh gets, and the message is not shown
    # again on the next page.
    refresh = client.get(url("classroom", school), **hx).content.decode()
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')  # masked anew each time
    assert token.sub("", refresh).strip() == token.sub("", region).strip()
    assert "Sent Ana Rivera" not in text(client.get(url("classroom", school)))
    assert services.day_states(day).students[student.pk].status == "sent"
    assert AuditEvent.objects.filter(action="dismissal.sent").count() == 1


def test_sent_by_htmx_without_a_school_day_leads_to_the_overview(
    client, school, student, teacher, time_machine
):
    time_machine.move_to(dt.datetime(2026, 11, 21, 14, tzinfo=PACIFIC), tick=False)  # Saturday
    client.force_login(teacher)
    r = client.post(url("sent", school), {"student": student.pk}, HTTP_HX_REQUEST="true",
                    HTTP_HX_TARGET="live")  # fmt: skip
    assert r.status_code == 204 and r["HX-Redirect"] == url("overview", school)
    assert "There is no dismissal today" in text(client.get(r["HX-Redirect"]))
    assert not CustodyEvent.objects.exists()


def test_the_classroom_filters_by_grade_for_the_hall_screen(
    client, day, school, student, sibling, tag, staff
):
    check_in(day, tag, staff)
    client.force_login(staff)
    page = text(client.get(url("classroom", school, grade="1")))
    assert "Grade 1: called" in page and "Leo Rivera" in page and "Ana Rivera" not in page


def test_sending_nobody_says_why(client, day, school, student, teacher):
    client.force_login(teacher)
    r = client.post(url("sent", school), {"student": student.pk}, follow=True)
    assert "Nobody was sent" in text(r)
    assert client.post(url("sent", school), {"student": "x"}).status_code == 404


# --- release ---------------------------------------------------------------------------------


def test_release_shows_the_people_on_file_with_photos_and_restrictions(
    client, day, school, student, guardian, tag, staff
):
    aunt = AuthorizedAdult.objects.create(
        student=student, first_name="Tía", last_name="Carmen", relationship="Aunt",
        phone="555-0101", source="guardian",
    )  # fmt: skip
    AuthorizedAdult.objects.filter(pk=aunt.pk).update(photo="private/pickup-photos/x.png")
    testing.make_guardian(student, first="Carlos", last="Rivera", with_user=False)
    CustodyRestriction.objects.create(
        student=student, person_name="Carlos Rivera", kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=dt.date(2026, 1, 1),
    )  # fmt: skip
    check_in(day, tag, staff)
    client.force_login(staff)

    r = client.get(url("release", school, student.pk))

    body = r.content.decode()
    assert r.status_code == 200
    assert reverse("people:adult_photo", args=[school.id, student.pk, aunt.pk]) in body
    page = text(r)
    assert "Maria Lopez" in page and "Tía Carmen" in page and "Carlos Rivera" in page
    assert "Custody order: do not release" in page and "FL-2026-0042" in page
    # The tag's check-in says how staff know the adult, to start with.
    assert 'value="car_tag" id="id_verification_0" checked' in body or re.search(
        r'<input[^>]*value="car_tag"[^>]*checked', body)  # fmt: skip
    assert 'role="alert"' not in body


def test_release_hands_the_student_over_and_offers_an_undo(
    client, day, school, student, guardian, tag, staff
):
    check_in(day, tag, staff)
    client.force_login(staff)

    r = client.post(url("release", school, student.pk),
                    {"person": f"guardian:{guardian.pk}", "verification": "photo_id"})  # fmt: skip

    assert r.status_code == 302 and r.url == url("release", school, student.pk)
    event = released(student).get()
    assert (event.to, event.guardian, event.verification, event.by, event.late) == (
        To.GUARDIAN, guardian, Verification.PHOTO_ID, staff, False)  # fmt: skip
    page = client.get(r.url)
    assert "Ana Rivera was released to Maria Lopez." in text(page)
    assert url("undo", school, event.pk) in page.content.decode()
    assert "Undo the release" in text(page)

    # A second release is refused in words, and nothing more is written.
    r = client.post(url("release", school, student.pk),
                    {"person": f"guardian:{guardian.pk}", "verification": "known"})  # fmt: skip
    assert r.status_code == 409
    assert "Ana was already released to Maria Lopez at 2:50 pm." in text(r)
    assert 'role="alert" data-testid="refused"' in r.content.decode()
    assert released(student).count() == 1


def test_a_custody_order_blocks_the_release_with_an_alert(client, day, school, student, tag, staff):
    father = testing.make_guardian(student, first="Carlos", last="Rivera", with_user=False)
    CustodyRestriction.objects.create(
        student=student, person_name="Carlos Rivera", kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=dt.date(2026, 1, 1),
    )  # fmt: skip
    check_in(day, tag, staff)
    client.force_login(staff)

    r = client.post(url("release", school, student.pk),
                    {"person": f"guardian:{father.pk}", "verification": "car_tag"})  # fmt: skip

    assert r.status_code == 409
    alert = r.content.decode().split('role="alert" data-testid="blocked"')[1].split("</div>")[0]
    assert "Do not release Ana" in alert and "FL-2026-0042" in alert
    assert "Nothing was released" in alert
    assert not released(student).exists()
    assert not AuditEvent.objects.filter(action="dismissal.released").exists()


def test_release_only_to_someone_on_file(client, day, school, student, other_school, staff):
    stranger = testing.make_guardian(testing.make_student(other_school))
    client.force_login(staff)
    r = client.post(url("release", school, student.pk),
                    {"person": f"guardian:{stranger.pk}", "verification": "known"})  # fmt: skip
    assert r.status_code == 400 and "Choose one of the adults on file." in text(r)
    r = client.post(url("release", school, student.pk), {"person": "", "verification": ""})
    assert r.status_code == 400
    page = text(r)
    assert "Choose the adult who is taking the student." in page
    assert "Say how you checked who the adult is." in page
    assert not released(student).exists()


def test_release_of_another_school_s_student_is_a_404(client, day, other_school, school, staff):
    pupil = testing.make_student(other_school)
    client.force_login(staff)
    assert client.get(url("release", school, pupil.pk)).status_code == 404
    assert client.get(url("timeline", school, pupil.pk)).status_code == 404


def test_release_search_finds_students_and_lists_those_called(
    client, day, school, student, sibling, tag, staff
):
    client.force_login(staff)
    page = text(client.get(url("release_search", school, q="leo")))
    assert "Rivera, Leo" in page and "Rivera, Ana" not in page
    one = text(client.get(url("release_search", school, q="l")))
    assert "Type at least two letters of the name, or the student id." in one
    assert "Nobody at school today matches" not in one
    check_in(day, tag, staff)
    called = client.get(url("release_search", school)).content.decode()
    assert url("release", school, student.pk) in called
    assert url("release", school, sibling.pk) in called


def test_release_search_lists_a_student_sent_whose_check_in_was_undone(
    client, day, school, student, sibling, tag, staff
):
    # Sent to the door, then the family's check-in undone: still at the door, with no arrival.
    arrival = check_in(day, tag, staff)
    services.mark_sent(day, [student.pk], actor=staff)
    checked_in = CustodyEvent.objects.get(arrival=arrival, student=student, kind=Kind.CHECKED_IN)
    services.undo(checked_in, actor=staff, reason="Wrong car")
    client.force_login(staff)
    response = client.get(url("release_search", school))
    assert response.status_code == 200
    assert url("release", school, student.pk) in response.content.decode()


# --- undo ------------------------------------------------------------------------------------


def test_an_undo_needs_a_reason_and_is_logged(client, day, school, student, guardian, staff):
    event = services.release(day, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                             verification=Verification.KNOWN)  # fmt: skip
    client.force_login(staff)
    assert client.get(url("undo", school, event.pk)).status_code == 200

    r = client.post(url("undo", school, event.pk), {"reason": ""})
    assert r.status_code == 400 and "Say why, for the record" in text(r)
    assert not CustodyEvent.objects.filter(kind=Kind.UNDONE).exists()

    back = url("release", school, student.pk)
    r = client.post(url("undo", school, event.pk), {"reason": "Wrong child", "next": back})

    assert r.status_code == 302 and r.url == back
    undone = CustodyEvent.objects.get(kind=Kind.UNDONE)
    assert (undone.undoes, undone.note, undone.by) == (event, "Wrong child", staff)
    audit = AuditEvent.objects.get(action="dismissal.undone")
    assert audit.after == {"reason": "Wrong child"}
    assert services.day_states(day).students[student.pk].status == "on_campus"
    assert "The log keeps both steps" in text(client.get(back))
    # Undone twice: refused in words.
    r = client.post(url("undo", school, event.pk), {"reason": "again"}, follow=True)
    assert "That step was already undone." in text(r)
    # Somewhere else is never a place to go back to.
    event2 = services.release(day, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                              verification=Verification.KNOWN)  # fmt: skip
    r = client.post(url("undo", school, event2.pk),
                    {"reason": "x", "next": "https://evil.example/"})  # fmt: skip
    assert r.url.startswith(url("timeline", school, student.pk))


def test_an_event_of_another_school_is_a_404(client, day, school, other_school, staff):
    pupil = testing.make_student(other_school)
    other_day = services.day_of(other_school, DAY)
    event = services.release_group(other_day, [pupil.pk], to=To.WALK, label="Walkers",
                                   actor=staff)[0]  # fmt: skip
    client.force_login(staff)
    assert client.post(url("undo", school, event.pk), {"reason": "x"}).status_code == 404


# --- groups ----------------------------------------------------------------------------------


def test_all_aboard_releases_a_bus_and_undoes_it_as_a_whole(
    client, day, school, student, sibling, guardian, route, staff
):
    rider = testing.make_student(school, first="Ben", last="Okafor")
    walker = testing.make_student(school, first="Chloe", last="Nguyen")
    for kid in (student, sibling, rider):
        plan(kid, PlanType.BUS, staff, bus_route=route)
    plan(walker, PlanType.WALK, staff)
    services.check_in(day, actor=staff, method="name", guardian=guardian)  # Ana and Leo
    client.force_login(staff)

    page = client.get(url("groups", school))
    body = text(page)
    assert "Bus 12 North loop" in body and "Walkers" in body
    assert re.search(r"Checked in at the curb instead: Ana Rivera ?, Leo Rivera", body)

    r = client.post(url("group_release", school), {"group": f"bus:{route.pk}",
                                                   "student": [rider.pk, student.pk]})  # fmt: skip
    assert r.status_code == 302
    assert "Bus 12: 1 student released." in text(client.get(url("groups", school)))
    event = released(rider).get()
    assert (event.to, event.to_label) == (To.BUS, "Bus 12")
    assert not released(student).exists()  # with the family at the curb

    undo_page = client.get(url("group_undo", school, group=f"bus:{route.pk}"))
    assert "Okafor" in text(undo_page) or "Ben Okafor" in text(undo_page)
    r = client.post(url("group_undo", school), {"group": f"bus:{route.pk}", "event": event.pk,
                                                "reason": "Bus broke down"})  # fmt: skip
    assert r.status_code == 302
    assert CustodyEvent.objects.get(kind=Kind.UNDONE).undoes == event
    assert services.day_states(day).students[rider.pk].status == "on_campus"
    assert client.get(url("group_undo", school, group="bus:999999")).status_code == 404


def test_no_group_leaves_with_all_aboard_in_an_emergency(client, day, school, student, route,
                                                        staff):  # fmt: skip
    plan(student, PlanType.BUS, staff, bus_route=route)
    client.force_login(staff)
    assert "All aboard (1)" in text(client.get(url("groups", school)))
    services.emergency_start(day, actor=staff, message="Go to the church lot.")

    page = client.get(url("groups", school)).content.decode()
    assert 'data-testid="no-groups-in-emergency"' in page
    assert url("group_release", school) not in page
    data = {"group": f"bus:{route.pk}", "student": [student.pk]}
    r = client.post(url("group_release", school), data, follow=True)
    assert "released one by one at the reunification desk" in text(r)
    assert not released(student).exists()


# --- late ------------------------------------------------------------------------------------


def test_late_students_are_flagged_and_a_documented_pickup_is_a_release(
    client, day, school, student, sibling, guardian, tag, staff, teacher, clock
):
    guardian.mobile = "+15550100111"
    guardian.save()
    client.force_login(staff)
    assert re.search(r'data-testid="late-count">0<', client.get(url("late", school)).content
                     .decode())  # fmt: skip
    clock(15, 20)

    r = client.get(url("late", school))

    page = text(r)
    assert re.search(r'data-testid="late-count">2<', r.content.decode())
    assert "Rivera, Ana" in page and "+15550100111" in page and "Documented pickup" in page
    assert re.search(r'data-testid="late">2<', client.get(url("overview", school)).content
                     .decode())  # fmt: skip
    check_in(day, tag, staff)
    assert "Late" in text(client.get(url("classroom", school)))
    r = client.post(url("release", school, student.pk),
                    {"person": f"guardian:{guardian.pk}", "verification": "car_tag"})  # fmt: skip
    assert released(student).get().late
    assert "It is recorded as a late pickup." in text(client.get(r.url))
    documented = text(client.get(url("late", school)))
    assert "Late pickups today 1" in documented and "Maria Lopez at 3:20 PM" in documented
    # A teacher sees the list for their homeroom, without phone numbers or pickups.
    client.force_login(teacher)
    page = text(client.get(url("late", school)))
    assert "Rivera, Leo" in page and "+15550100111" not in page
    assert "Documented pickup" not in page


# --- a student's day -------------------------------------------------------------------------


def test_the_timeline_is_the_chain_of_custody_without_controls(
    client, day, school, student, guardian, tag, staff
):
    check_in(day, tag, staff)
    services.mark_sent(day, [student.pk], actor=staff, door="North")
    first = services.release(day, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                             verification=Verification.CAR_TAG)  # fmt: skip
    services.undo(first, actor=staff, reason="Wrong child")
    client.force_login(staff)

    r = client.get(url("timeline", school, student.pk))

    events = r.content.decode().split('data-testid="timeline"')[1].split("</ol>")[0]
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", events))
    assert page.index("Family checked in") < page.index("Sent to the door") < page.index(
        "Released") < page.index("Undid")  # fmt: skip
    assert "car tag number (tag 14)" in page and "To door North" in page
    assert "To Maria Lopez (guardian) · verified by car tag" in page
    assert "Undone" in page and "reason: Wrong child" in page
    assert "By Dana Office" in page
    assert "<form" not in events and "<button" not in events
    # A past day reads as it was; a day without a dismissal says so.
    r = client.get(url("timeline", school, student.pk, date="2026-11-17"))
    assert r.status_code == 200 and "No dismissal was recorded in Last Bell that day." in text(r)


# --- constant queries ------------------------------------------------------------------------


def _family(school, homeroom, staff, n):
    tag = CarTag.objects.create(school=school, number=100 + n)
    kid = testing.make_student(school, first=f"Kid{n}", last="Many", homeroom=homeroom)
    TagStudent.objects.create(tag=tag, student=kid)
    testing.make_guardian(kid, with_user=False)
    return tag


@pytest.mark.parametrize("screen", ["curb", "classroom", "groups", "overview", "late"])
def test_the_screens_cost_the_same_queries_for_5_or_40_students(
    client, day, school, homeroom, staff, route, screen, clock
):
    client.force_login(staff)

    def measure():
        board_cache.clear()
        with CaptureQueriesContext(connection) as queries:
            r = client.get(url(screen, school))
        assert r.status_code == 200
        return len(queries)

    def add(start, stop):
        for n in range(start, stop):
            tag = _family(school, homeroom, staff, n)
            kid = tag.members.get().student
            plan(kid, PlanType.BUS if n % 2 else PlanType.WALK, staff, bus_route=route
                 if n % 2 else None)  # fmt: skip
            services.check_in(day, actor=staff, method="tag", tag=tag)
            if n % 3 == 0:
                services.mark_sent(day, [kid.pk], actor=staff)

    add(0, 5)
    clock(15, 30)  # late: the late list reads the guardians too
    few = measure()
    add(5, 40)
    many = measure()
    assert many <= few, f"{screen}: {few} queries for 5 students, {many} for 40"
