"""The letter pages, for every persona: a school's office and district admins see and act;
a teacher is refused; staff of another school, guardians and other districts find nothing."""

import datetime as dt

import pytest
from django.urls import reverse

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.attendance.models import Category
from lastbell.attendance.services import attendance_set
from lastbell.audit.models import AuditEvent
from lastbell.truancy.models import Conference, Letter, LetterBatch, Referral
from lastbell.truancy.tests.helpers import DAYS, IMMEDIATE, issue, run, unexcused

pytestmark = pytest.mark.usefixtures("on_school_day")

SCHOOL_PAGES = ["issue", "batches", "letters", "letters_csv", "review", "followup", "chronic"]
DISTRICT_PAGES = [*SCHOOL_PAGES, "templates"]


@pytest.fixture(autouse=True)
def files(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.TASKS = IMMEDIATE


@pytest.fixture
def ana(school):
    pupil = testing.make_student(school, first="Ana", last="Rivera")
    unexcused(pupil, *DAYS[:3])
    return pupil


@pytest.fixture
def made(school, staff, ana, django_capture_on_commit_callbacks):
    """A run at the school, its PDF made."""
    with django_capture_on_commit_callbacks(execute=True):
        batch = run(school, 1, staff).batch
    return batch, Letter.objects.get()


def school_urls(school, batch, letter):
    urls = {name: reverse(f"truancy:school_{name}", args=[school.pk]) for name in SCHOOL_PAGES}
    urls["issue"] += "?level=1"
    for name in ("batch", "batch_pdf"):
        urls[name] = reverse(f"truancy:school_{name}", args=[school.pk, batch.pk])
    urls["letter"] = reverse("truancy:school_letter", args=[school.pk, letter.pk])
    return urls


def persona(name, school, other_school, student):
    return {
        "staff": lambda: testing.make_staff(school, Role.DISMISSAL_STAFF),
        "school_admin": lambda: testing.make_staff(school, Role.SCHOOL_ADMIN),
        "district_admin": lambda: testing.make_district_admin(school.district),
        "teacher": lambda: testing.make_staff(school, Role.TEACHER),
        "other_school_staff": lambda: testing.make_staff(other_school, Role.SCHOOL_ADMIN),
        "guardian": lambda: testing.make_guardian(student).user,
        "other_district_admin": lambda: testing.make_district_admin(testing.make_district("X")),
    }[name]()


SCHOOL_ANSWERS = {
    "staff": 200,
    "school_admin": 200,
    "district_admin": 200,
    "teacher": 403,
    "other_school_staff": 404,
    "guardian": 404,
    "other_district_admin": 404,
}


@pytest.mark.parametrize("who", SCHOOL_ANSWERS)
def test_every_school_page_answers_each_persona_as_it_should(client, school, other_school, ana,
                                                             made, who):  # fmt: skip
    unexcused(testing.make_student(school, first="Ben", last="Nguyen"), *DAYS[:3])  # due now
    client.force_login(persona(who, school, other_school, ana))
    for name, url in school_urls(school, *made).items():
        response = client.get(url)
        assert response.status_code == SCHOOL_ANSWERS[who], (name, who, response.status_code)
        if response.status_code != 200:
            body = b"".join(response.streaming_content) if response.streaming else \
                response.content  # fmt: skip
            assert b"Rivera" not in body


@pytest.mark.parametrize("who", SCHOOL_ANSWERS)
def test_every_school_action_refuses_who_may_not(client, school, other_school, ana, made, who):
    if SCHOOL_ANSWERS[who] == 200:
        return
    batch, letter = made
    client.force_login(persona(who, school, other_school, ana))
    posts = {
        "issue": (reverse("truancy:school_issue", args=[school.pk]),
                  {"students": str(ana.pk), "level": "1", "delivery": "print"}),
        "void": (reverse("truancy:school_letter_void", args=[school.pk, letter.pk]),
                 {"reason": "Entered by mistake"}),
        "keep": (reverse("truancy:school_letter_keep", args=[school.pk, letter.pk]), {}),
        "retry": (reverse("truancy:school_batch_retry", args=[school.pk, batch.pk]), {}),
    }  # fmt: skip
    for name, (url, data) in posts.items():
        assert client.post(url, data).status_code == SCHOOL_ANSWERS[who], name
    letter.refresh_from_db()
    assert letter.voided_at is None and letter.reviewed_at is None
    assert LetterBatch.objects.count() == 1


@pytest.mark.parametrize(("who", "answer"), [
    ("district_admin", 200), ("staff", 404), ("school_admin", 404), ("teacher", 404),
    ("guardian", 404), ("other_district_admin", 404),
])  # fmt: skip
def test_district_pages_are_for_its_district_admins(client, district, school, other_school, ana,
                                                    who, answer):  # fmt: skip
    client.force_login(persona(who, school, other_school, ana))
    for name in DISTRICT_PAGES:
        url = reverse(f"truancy:district_{name}", args=[district.pk])
        assert client.get(url + ("?level=1" if name == "issue" else "")).status_code == answer, \
            name  # fmt: skip
    template = reverse("truancy:district_template", args=[district.pk, 1, "es"])
    assert client.get(template).status_code == answer


def test_a_school_office_cannot_open_another_schools_letter_or_a_district_run(
    client,
    district,
    school,
    other_school,
    staff,
    district_admin,
    ana,
    made,
    django_capture_on_commit_callbacks,
):
    omar = testing.make_student(other_school, first="Omar")
    unexcused(omar, *DAYS[:3])
    with django_capture_on_commit_callbacks(execute=True):
        district_batch = run(other_school, 1, district_admin).batch
    omar_letter = Letter.objects.get(student=omar)
    client.force_login(staff)
    assert client.get(reverse("truancy:school_letter", args=[school.pk, omar_letter.pk])) \
        .status_code == 404  # fmt: skip
    for name in ("batch", "batch_pdf"):
        url = reverse(f"truancy:school_{name}", args=[school.pk, district_batch.pk])
        assert client.get(url).status_code == 404


# --- issuing through the pages ------------------------------------------------------------------


def test_preview_then_confirm_issues_and_shows_the_run(client, school, staff, ana):
    from lastbell.truancy.tasks import make_letters

    client.force_login(staff)
    due = client.get(reverse("truancy:school", args=[school.pk])).content.decode()
    assert "Issue Letter 1: first truancy notice to 1 student…" in due
    url = reverse("truancy:school_issue", args=[school.pk])
    confirm = client.get(url + "?level=1").content.decode()
    assert "You are about to issue <strong>Letter 1: first truancy notice</strong>" in confirm
    assert "Rivera, Ana" in confirm and "Sep 1, Sep 2, Sep 3" in confirm
    assert f'name="students" value="{ana.pk}"' in confirm
    assert not Letter.objects.exists()  # looking issues nothing
    response = client.post(url, {"students": str(ana.pk), "level": "1", "delivery": "print"},
                           follow=True)  # fmt: skip
    batch = LetterBatch.objects.get()
    assert response.redirect_chain[-1][0] == reverse("truancy:school_batch",
                                                     args=[school.pk, batch.pk])  # fmt: skip
    page = response.content.decode()
    assert "Issued 1 letter." in page and "Waiting for its turn…" in page
    assert 'hx-trigger="every 1s"' in page  # the page follows the worker
    make_letters.call(batch.pk)  # the worker's turn
    status = client.get(response.redirect_chain[-1][0], headers={"HX-Request": "true"})
    text = status.content.decode()
    assert text.lstrip().startswith('<div id="batch-status"')  # only the part htmx swaps
    assert "Download the letters (PDF, " in text and 'hx-trigger="every 1s"' not in text
    pdf = client.get(reverse("truancy:school_batch_pdf", args=[school.pk, batch.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")


def test_the_other_staff_member_is_told_nobody_was_issued(client, school, staff, ana):
    url = reverse("truancy:school_issue", args=[school.pk])
    client.force_login(staff)
    form = {"students": str(ana.pk), "level": "1", "delivery": "print"}
    client.post(url, form)
    client.force_login(testing.make_staff(school, first="Sam"))
    response = client.post(url, form, follow=True)
    text = response.content.decode()
    assert "Nobody was issued a letter: someone else issued these letters while you were " \
           "confirming (Ana Rivera). See Runs." in text  # fmt: skip
    assert Letter.objects.count() == 1 and LetterBatch.objects.count() == 1


def test_a_changed_list_is_issued_in_part_and_says_why(client, school, staff, ana):
    ben = testing.make_student(school, first="Ben", last="Nguyen")
    unexcused(ben, *DAYS[:3])
    attendance_set(student=ben, date=DAYS[0], category=Category.ABSENT_EXCUSED, actor=staff)
    client.force_login(staff)
    response = client.post(reverse("truancy:school_issue", args=[school.pk]),
                           {"students": f"{ana.pk},{ben.pk}", "level": "1", "delivery": "print"},
                           follow=True)  # fmt: skip
    text = response.content.decode()
    assert "Issued 1 letter. 1 student from the list were not issued one: 1 no longer reaches " \
           "the count" in text  # fmt: skip
    assert "Ben Nguyen: no longer reaches the count" in text


@pytest.mark.parametrize(("changes", "error"), [
    ({"conference_place": ""}, "Say where the conferences are"),
    ({"conference_day": "2026-11-02"}, "The first conference day is in the past."),
    ({"conference_until": "07:00"}, "The last time must be after the first."),
    ({"conference_minutes": "5"}, "Give 10 minutes or more."),
    ({"delivery": ""}, "Choose how the letters go out."),
    ({"students": ""}, "This field is required."),
])  # fmt: skip
def test_a_wrong_confirmation_is_explained_and_issues_nothing(client, school, staff, ana,
                                                               changes, error):  # fmt: skip
    unexcused(ana, *DAYS[3:6])
    issue(ana, 1)
    client.force_login(staff)
    form = {"students": str(ana.pk), "level": "2", "delivery": "print",
            "conference_place": "Room 4", "conference_day": "2026-11-20",
            "conference_start": "08:00", "conference_until": "15:00",
            "conference_minutes": "30", **changes}  # fmt: skip
    response = client.post(reverse("truancy:school_issue", args=[school.pk]), form)
    assert response.status_code == 400
    assert error in response.content.decode().replace("&#x27;", "'")
    assert not Letter.objects.filter(level=2).exists() and not Conference.objects.exists()


def test_nobody_due_goes_back_to_the_list(client, school, staff):
    client.force_login(staff)
    response = client.get(reverse("truancy:school_issue", args=[school.pk]) + "?level=2",
                          follow=True)  # fmt: skip
    assert "Nobody is due for Letter 2: parent conference right now." in response.content.decode()


# --- after issuing ----------------------------------------------------------------------------


def test_voiding_from_the_letters_page(client, school, staff, made):
    _batch, letter = made
    url = reverse("truancy:school_letter_void", args=[school.pk, letter.pk])
    client.force_login(staff)
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400
    assert "Say why the letter is voided, for the record." in response.content.decode()
    response = client.post(url, {"reason": "Sent to the wrong family"}, follow=True)
    assert "It stays on record with the reason" in response.content.decode()
    letter.refresh_from_db()
    assert letter.void_reason == "Sent to the wrong family" and letter.voided_by == staff


def test_the_review_page_lists_a_letter_whose_count_fell_and_keeps_it(client, school, staff,
                                                                       ana, made):  # fmt: skip
    client.force_login(staff)
    url = reverse("truancy:school_review", args=[school.pk])
    assert "Nothing to review" in client.get(url).content.decode()
    attendance_set(student=ana, date=DAYS[2], category=Category.ABSENT_EXCUSED, actor=staff)
    page = client.get(url).content.decode()
    assert "Rivera, Ana" in page and "3 → 2" in page and "Sep 3" in page
    _batch, letter = made
    client.post(reverse("truancy:school_letter_keep", args=[school.pk, letter.pk]),
                {"next": "review"})  # fmt: skip
    assert "Nothing to review" in client.get(url).content.decode()


def test_recording_a_conference_and_a_referral(client, school, staff, ana):
    unexcused(ana, *DAYS[3:9])
    issue(ana, 1)
    two, three = issue(ana, 2), issue(ana, 3)
    client.force_login(staff)
    conference = reverse("truancy:school_letter_conference", args=[school.pk, two.pk])
    response = client.post(conference, {"status": "held", "day": "", "time": "", "place": ""})
    assert response.status_code == 400
    assert "Give the date and time the conference was held." in response.content.decode()
    client.post(
        conference,
        {
            "status": "held",
            "day": "2026-11-20",
            "time": "08:30",
            "place": "Room 4",
            "notes": "Mother came; plan agreed.",
        },
    )
    saved = Conference.objects.get(letter=two)
    assert saved.status == "held" and saved.notes == "Mother came; plan agreed."
    assert saved.scheduled_at == dt.datetime(2026, 11, 20, 8, 30, tzinfo=school.tz)
    referral = reverse("truancy:school_letter_referral", args=[school.pk, three.pk])
    response = client.post(referral, {"board": "SARB", "status": "closed", "outcome": ""})
    assert "Say what came of it before marking it “Closed”." in response.content.decode()
    client.post(referral, {"board": "County SARB", "status": "heard",
                           "outcome": "Attendance agreement signed."})  # fmt: skip
    assert Referral.objects.get(letter=three).outcome == "Attendance agreement signed."
    actions = list(
        AuditEvent.objects.filter(
            action__in=["truancy.conference.saved", "truancy.referral.saved"]
        ).values_list("action", "student")
    )
    assert sorted(actions) == [("truancy.conference.saved", ana.pk),
                               ("truancy.referral.saved", ana.pk)]  # fmt: skip
    followup = client.get(reverse("truancy:school_followup", args=[school.pk]) + "?status=all")
    assert "Attendance agreement signed." in followup.content.decode()
    # A letter 1 has neither.
    one = Letter.objects.get(level=1)
    assert client.post(reverse("truancy:school_letter_conference", args=[school.pk, one.pk]),
                       {"status": "held"}).status_code == 404  # fmt: skip


def test_the_csv_lists_the_letters_with_their_status(client, school, staff, ana, made):
    _batch, letter = made
    ana.first_name = "=HYPERLINK(1)"
    ana.save()
    client.force_login(staff)
    response = client.get(reverse("truancy:school_letters_csv", args=[school.pk]))
    assert response["Content-Disposition"].startswith('attachment; filename="truancy-letters-')
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Issued,School,Student ID,Last name,First name,Grade,Letter,")
    assert ",Rivera,'=HYPERLINK(1),3,1,Letter 1: first truancy notice,3," in lines[1]
    assert "2026-09-01 2026-09-02 2026-09-03,Dana Office" in lines[1] and ",In force," in lines[1]
    assert len(lines) == 2


def test_the_letters_page_filters_and_pages(client, school, staff):
    for n in range(55):
        pupil = testing.make_student(school, first="Kid", last=f"Z{n:02d}")
        unexcused(pupil, *DAYS[:3])
    run(school, 1, staff)
    client.force_login(staff)
    url = reverse("truancy:school_letters", args=[school.pk])
    first = client.get(url).content.decode()
    assert "55 letters" in first and "Page 1 of 2" in first
    found = client.get(url + "?q=Z07").content.decode()
    assert "1 letter." in found and "Z07, Kid" in found
    assert "No letters match" in client.get(url + "?status=voided").content.decode()
