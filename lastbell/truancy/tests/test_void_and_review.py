"""A letter issued in error is voided with a reason, never deleted; a letter whose count fell
after an absence was excused is listed for review and stays until staff keep or void it."""

import pytest
from django.core.exceptions import ValidationError

from lastbell import testing
from lastbell.attendance.models import Category
from lastbell.attendance.services import attendance_set
from lastbell.audit.models import AuditEvent
from lastbell.truancy import services, tracker
from lastbell.truancy.models import Letter
from lastbell.truancy.tests.helpers import DAYS, ON, preview, run, unexcused

pytestmark = pytest.mark.usefixtures("on_school_day")


@pytest.fixture
def ana(school):
    pupil = testing.make_student(school, first="Ana", last="Rivera")
    unexcused(pupil, *DAYS[:3])
    return pupil


def test_voiding_keeps_the_letter_with_its_reason_and_makes_it_due_again(school, staff, ana):
    run(school, 1, staff)
    letter = Letter.objects.get()
    services.letter_void(letter=letter, reason="  Sent to the wrong   family ", actor=staff)
    letter.refresh_from_db()
    assert letter.voided_at is not None and letter.voided_by == staff
    assert letter.void_reason == "Sent to the wrong family"
    event = AuditEvent.objects.get(action="truancy.letter.voided")
    assert (event.student, event.actor) == (ana, staff)
    assert event.after["reason"] == "Sent to the wrong family" and event.before["voided"] is None
    assert preview(school, 1) == [ana.pk]  # still due: the tracker no longer counts it
    assert Letter.objects.count() == 1


@pytest.mark.parametrize("reason", ["", "   ", "oops"])
def test_voiding_needs_a_reason_and_changes_nothing_without_one(school, staff, ana, reason):
    run(school, 1, staff)
    with pytest.raises(ValidationError, match="Say why the letter is voided"):
        services.letter_void(letter=Letter.objects.get(), reason=reason, actor=staff)
    assert Letter.objects.get().voided_at is None
    assert not AuditEvent.objects.filter(action="truancy.letter.voided").exists()


def test_a_letter_a_later_one_rests_on_is_voided_last(school, staff, ana):
    unexcused(ana, *DAYS[3:6])
    run(school, 1, staff)
    run(school, 2, staff)
    first, second = Letter.objects.order_by("level")
    with pytest.raises(ValidationError, match="Void that letter first"):
        services.letter_void(letter=first, reason="Entered by mistake", actor=staff)
    services.letter_void(letter=second, reason="Entered by mistake", actor=staff)
    services.letter_void(letter=first, reason="Entered by mistake", actor=staff)
    with pytest.raises(ValidationError, match="already voided"):
        services.letter_void(letter=first, reason="Entered by mistake", actor=staff)
    assert Letter.objects.filter(voided_at__isnull=False).count() == 2


def test_an_absence_excused_after_its_letter_shows_for_review_and_the_letter_stays(
    school, staff, ana
):
    run(school, 1, staff)
    letter = Letter.objects.get()
    assert tracker.for_review(district=school.district, school=school, on=ON) == []
    attendance_set(student=ana, date=DAYS[1], category=Category.ABSENT_EXCUSED, actor=staff)
    (row,) = tracker.for_review(district=school.district, school=school, on=ON)
    assert (row.letter, row.count, row.needed, row.no_longer) == (letter, 2, 3, [DAYS[1]])
    letter.refresh_from_db()
    assert letter.voided_at is None and letter.count == 3  # as issued
    # The district's list has it too; kept, it leaves both.
    assert len(tracker.for_review(district=school.district, on=ON)) == 1
    services.letter_keep(letter=letter, actor=staff)
    assert tracker.for_review(district=school.district, school=school, on=ON) == []
    letter.refresh_from_db()
    assert letter.reviewed_by == staff and letter.voided_at is None
    assert AuditEvent.objects.filter(action="truancy.letter.reviewed", student=ana).count() == 1


def test_a_letter_still_at_its_level_is_not_for_review(school, staff, ana):
    unexcused(ana, DAYS[3])
    run(school, 1, staff)  # issued at 4
    attendance_set(student=ana, date=DAYS[3], category=Category.ABSENT_EXCUSED, actor=staff)
    assert tracker.for_review(district=school.district, school=school, on=ON) == []


def test_a_voided_letter_is_not_for_review(school, staff, ana):
    run(school, 1, staff)
    letter = Letter.objects.get()
    attendance_set(student=ana, date=DAYS[1], category=Category.ABSENT_EXCUSED, actor=staff)
    services.letter_void(letter=letter, reason="The absence was excused", actor=staff)
    assert tracker.for_review(district=school.district, school=school, on=ON) == []
    with pytest.raises(ValidationError, match="voided"):
        services.letter_keep(letter=letter, actor=staff)
