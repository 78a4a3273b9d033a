"""Issuing letters (issue 6 §4): one transaction records each letter with what it was issued
with and its audit event; only students still due are issued; levels go in order; never
twice."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from lastbell import testing
from lastbell.attendance.models import Category
from lastbell.attendance.services import attendance_set
from lastbell.audit.models import AuditEvent
from lastbell.schools.models import CalendarDay
from lastbell.truancy import services, tracker
from lastbell.truancy.models import Conference, Letter, LetterBatch, Referral
from lastbell.truancy.tests.helpers import DAYS, ON, issue, preview, run, unexcused

pytestmark = pytest.mark.usefixtures("on_school_day")


@pytest.fixture
def ana(school):
    pupil = testing.make_student(school, first="Ana", last="Rivera")
    unexcused(pupil, *DAYS[:3])
    return pupil


@pytest.fixture
def ben(school):
    pupil = testing.make_student(school, first="Ben", last="Nguyen")
    unexcused(pupil, *DAYS[:4])
    return pupil


def test_it_records_each_letter_with_its_count_dates_author_and_run(school, staff, ana, ben):
    outcome = run(school, 1, staff)
    assert outcome.issued == 2 and outcome.dropped == [] and outcome.newly_due == 0
    batch = outcome.batch
    assert (batch.school, batch.level, batch.issued, batch.created_by) == (school, 1, 2, staff)
    letter = Letter.objects.get(student=ana)
    assert letter.batch == batch and letter.issued_by == staff and letter.school == school
    assert (letter.level, letter.count, letter.threshold) == (1, 3, 3)
    assert letter.dates == [d.isoformat() for d in DAYS[:3]]
    assert letter.level_name == "Letter 1: first truancy notice"
    assert letter.year_starts_on == dt.date(2026, 7, 1)
    assert Letter.objects.get(student=ben).count == 4
    events = AuditEvent.objects.filter(action="truancy.letter.issued").order_by("student__pk")
    assert [(e.student, e.school, e.actor) for e in events] == [
        (ana, school, staff), (ben, school, staff)]  # fmt: skip
    assert events[0].after["dates"] == "2026-09-01, 2026-09-02, 2026-09-03"
    assert events[0].after["run"] == batch.pk
    run_event = AuditEvent.objects.get(action="truancy.batch.issued")
    assert run_event.after["issued"] == 2 and run_event.target_id == str(batch.pk)
    # Issued: nobody is due for letter 1 any more, asking again changes nothing.
    assert preview(school, 1) == []
    assert run(school, 1, staff).batch is None
    assert LetterBatch.objects.count() == 1 and Letter.objects.count() == 2


def test_a_stale_preview_issues_only_those_still_due_and_says_why(school, staff, ana, ben):
    cara = testing.make_student(school, first="Cara", last="Diaz")
    unexcused(cara, *DAYS[:3])
    seen = preview(school, 1)  # what staff looked at before confirming
    # Meanwhile: Ben's absence is excused, Cara got her letter from a colleague, Dan is due.
    attendance_set(student=ben, date=DAYS[0], category=Category.ABSENT_EXCUSED, actor=staff)
    attendance_set(student=ben, date=DAYS[1], category=Category.ABSENT_EXCUSED, actor=staff)
    run(school, 1, testing.make_staff(school), students=[cara])
    dan = testing.make_student(school, first="Dan", last="Evans")
    unexcused(dan, *DAYS[:3])
    outcome = services.letters_issue(district=school.district, school=school, level=1,
                                     student_ids=seen, actor=staff, on=ON)  # fmt: skip
    assert outcome.issued == 1 and Letter.objects.get(batch=outcome.batch).student == ana
    assert [(row["name"], row["reason"]) for row in outcome.dropped] == [
        ("Ben Nguyen", "below"), ("Cara Diaz", "issued")]  # fmt: skip
    assert outcome.newly_due == 1  # Dan: not on the list staff confirmed
    assert not Letter.objects.filter(student=dan).exists()
    assert outcome.dropped_summary() == (
        "1 no longer reaches the count (an absence was excused or corrected); "
        "1 already had this letter (someone issued it meanwhile)"
    )
    assert outcome.batch.dropped_count == 2
    assert [row["name"] for row in outcome.batch.dropped] == ["Ben Nguyen", "Cara Diaz"]


def test_a_withdrawn_student_and_a_voided_earlier_letter_are_dropped(school, staff, ana, ben):
    unexcused(ana, *DAYS[3:6])
    unexcused(ben, *DAYS[4:6])
    run(school, 1, staff)
    seen = preview(school, 2)
    assert sorted(seen) == sorted([ana.pk, ben.pk])
    ana.withdrawn_on = ON - dt.timedelta(days=1)
    ana.save()
    services.letter_void(letter=Letter.objects.get(student=ben, level=1),
                         reason="Entered by mistake", actor=staff)  # fmt: skip
    outcome = services.letters_issue(district=school.district, school=school, level=2,
                                     student_ids=seen, actor=staff, on=ON)  # fmt: skip
    assert outcome.batch is None and not Letter.objects.filter(level=2).exists()
    assert {(row["name"], row["reason"]) for row in outcome.dropped} == {
        ("Ana Rivera", "left"), ("Ben Nguyen", "order")}  # fmt: skip


def test_students_of_other_schools_are_not_issued_nor_named(school, other_school, staff, ana):
    omar = testing.make_student(other_school, first="Omar", last="Secret")
    unexcused(omar, *DAYS[:3])
    outcome = services.letters_issue(
        district=school.district,
        school=school,
        level=1,
        student_ids=[ana.pk, omar.pk],
        actor=staff,
        on=ON,
    )
    assert outcome.issued == 1 and outcome.dropped == []
    assert not Letter.objects.filter(student=omar).exists()


def test_letter_2_only_after_letter_1(school, staff, ana):
    unexcused(ana, *DAYS[3:6])  # 6 days: reaches letter 2, but has no letter 1
    outcome = services.letters_issue(district=school.district, school=school, level=2,
                                     student_ids=[ana.pk], actor=staff, on=ON)  # fmt: skip
    assert outcome.batch is None and outcome.dropped[0]["reason"] == "order"
    run(school, 1, staff)
    assert run(school, 2, staff).issued == 1
    assert list(Letter.objects.order_by("level").values_list("level", flat=True)) == [1, 2]


def test_a_student_who_jumps_several_levels_between_runs_gets_each_letter_in_order(
    school, staff, ana
):
    run(school, 1, staff)
    unexcused(ana, *DAYS[3:10])  # 3 → 10 counted days between two runs: past letter 3
    (row,) = tracker.due(district=school.district, school=school, level=2, on=ON)
    assert (row.count, row.reached) == (10, 3)
    assert preview(school, 3) == []  # not before letter 2
    second = run(school, 2, staff)
    assert second.issued == 1 and Letter.objects.get(level=2).count == 10
    third = run(school, 3, staff)
    assert third.issued == 1
    letters = list(Letter.objects.order_by("issued_at", "pk").values_list("level", "count"))
    assert letters == [(1, 3), (2, 10), (3, 10)]
    assert [preview(school, n) for n in (1, 2, 3)] == [[], [], []]


def test_the_database_never_holds_two_letters_of_a_level_in_a_year(school, staff, ana):
    run(school, 1, staff)
    first = Letter.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Letter.objects.create(student=ana, school=school, level=1, issued_at=first.issued_at,
                              year_starts_on=first.year_starts_on)  # fmt: skip
    # A voided letter does not count, and next year's is another year.
    services.letter_void(letter=first, reason="Sent to the wrong family", actor=staff)
    assert run(school, 1, staff).issued == 1
    Letter.objects.create(student=ana, school=school, level=1, issued_at=first.issued_at,
                          year_starts_on=dt.date(2027, 7, 1))  # fmt: skip
    assert Letter.objects.filter(student=ana, level=1, voided_at__isnull=True).count() == 2


def test_a_race_past_the_lock_is_refused_by_the_database_and_said_plainly(school, staff, ana):
    # As if another run's letter slipped in after this run's check: the unique index refuses
    # this run's copy, and the run saves nothing.
    letter = issue(ana, 1)
    Letter.objects.filter(pk=letter.pk).update(year_starts_on=dt.date(2026, 7, 1))
    Letter.objects.filter(pk=letter.pk).update(issued_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    assert preview(school, 1) == [ana.pk]  # the tracker reads it as last year's
    with pytest.raises(services.CannotIssue, match="someone else issued some of these letters"):
        run(school, 1, staff)
    assert LetterBatch.objects.count() == 0 and Letter.objects.count() == 1
    assert not AuditEvent.objects.filter(action__startswith="truancy.").exists()


def test_a_letter_2_run_books_a_conference_per_student_on_school_days(school, staff):
    pupils = []
    for n in range(3):
        pupil = testing.make_student(school, first=f"P{n}", last=f"Pupil{n}")
        unexcused(pupil, *DAYS[:6])
        issue(pupil, 1)
        pupils.append(pupil)
    # Friday Nov 20, 2:00 and 2:30 pm; then Monday Nov 23 is a holiday: Tuesday 8:00.
    CalendarDay.objects.create(school=school, date=dt.date(2026, 11, 23), kind="holiday")
    details = {"conference": {"place": "Room 4", "first_day": "2026-11-20", "start": "14:00",
                              "until": "15:00", "minutes": 30}}  # fmt: skip
    outcome = run(school, 2, staff, details=details)
    conferences = Conference.objects.filter(letter__batch=outcome.batch).order_by("scheduled_at")
    assert [c.scheduled_at.astimezone(school.tz).strftime("%a %d %H:%M") for c in conferences] \
        == ["Fri 20 14:00", "Fri 20 14:30", "Tue 24 14:00"]  # fmt: skip
    assert {c.place for c in conferences} == {"Room 4"}
    assert {c.status for c in conferences} == {Conference.Status.SCHEDULED}


def test_a_letter_2_run_without_a_day_asks_families_to_call(school, staff, ana):
    unexcused(ana, *DAYS[3:6])
    issue(ana, 1)
    run(school, 2, staff, details={"conference": {"place": "the office", "first_day": ""}})
    conference = Conference.objects.get()
    assert conference.scheduled_at is None and conference.place == "the office"


def test_a_letter_3_run_refers_each_student_to_the_board(school, staff, ana):
    unexcused(ana, *DAYS[3:9])
    issue(ana, 1)
    issue(ana, 2)
    run(school, 3, staff, details={"board": {"name": "County SARB"}})
    referral = Referral.objects.get()
    assert referral.board == "County SARB" and referral.status == Referral.Status.REFERRED
    assert referral.letter.level == 3


def test_a_district_run_issues_at_every_school_with_each_schools_policy(
    district, school, other_school, district_admin, ana
):
    omar = testing.make_student(other_school, first="Omar", last="Diaz")
    unexcused(omar, *DAYS[:3])
    ids = [r.student_id for r in tracker.due(district=district, level=1, on=ON)]
    outcome = services.letters_issue(district=district, level=1, student_ids=ids,
                                     actor=district_admin, on=ON)  # fmt: skip
    assert outcome.issued == 2 and outcome.batch.school is None
    assert set(Letter.objects.values_list("school", flat=True)) == {school.pk, other_school.pk}
    schools = set(AuditEvent.objects.filter(action="truancy.letter.issued")
                  .values_list("school", flat=True))  # fmt: skip
    assert schools == {school.pk, other_school.pk}


def test_issuing_takes_the_same_queries_for_4_or_40_letters(school, other_school, staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    details = {"conference": {"place": "Room 4", "first_day": "2026-11-20", "start": "08:00",
                              "until": "15:00", "minutes": 20}}  # fmt: skip
    queries = {}
    for where, students in ((school, 4), (other_school, 40)):
        for n in range(students):
            pupil = testing.make_student(where, last=f"S{n:02d}")
            unexcused(pupil, *DAYS[:6])
            issue(pupil, 1)
        ids = preview(where, 2)
        # The lock, the due list, the run, the letters, their schools, the calendar, the
        # conferences, the letters' audit events, the run's (each audit write reads its
        # district's chain head locked and writes it back): none of them per letter.
        with CaptureQueriesContext(connection) as context:
            outcome = services.letters_issue(district=where.district, school=where, level=2,
                                             student_ids=ids, actor=staff, on=ON,
                                             details=details)  # fmt: skip
        assert outcome.issued == students
        queries[students] = len(context.captured_queries)

    assert queries[4] == queries[40] <= 17
