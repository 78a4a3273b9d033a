"""The day's chain is read incrementally and folded once per state of the day (chain.py,
services.day_states). Outside a test transaction: only committed states are kept."""

import pytest
from django.db import transaction

from lastbell import testing
from lastbell.dismissal import chain, services
from lastbell.dismissal.models import CustodyEvent
from lastbell.dismissal.tests import test_views
from lastbell.dismissal.tests.test_views import check_in
from lastbell.plans.board import board_cache
from lastbell.plans.models import PlanType

pytestmark = pytest.mark.django_db(transaction=True)
clock, day, sibling, tag = test_views.clock, test_views.day, test_views.sibling, test_views.tag
Kind = CustodyEvent.Kind


@pytest.fixture(autouse=True)
def empty_caches():
    chain.forget()
    board_cache.clear()
    services._fold_cache.clear()
    services._fold_cache.resolutions = 0


def released(day, pupil, pk, at):
    CustodyEvent.objects.bulk_create([CustodyEvent(
        pk=pk, day=day, student=pupil, kind=Kind.RELEASED, at=at, to="walk",
        to_label="Walkers")])  # fmt: skip


def test_events_once_read_are_not_read_again(school, staff, day, tag, student, sibling):
    check_in(day, tag, staff)
    first, length = chain.day_events(day.pk)
    assert length == 2

    services.mark_sent(day, [student.pk], actor=staff)
    again, length = chain.day_events(day.pk)

    assert length == 3
    assert [e.kind for e in again] == [Kind.CHECKED_IN, Kind.CHECKED_IN, Kind.SENT]
    assert again[0] is first[0]  # the same object: read once, kept


def test_a_lower_id_committed_late_is_read_and_kept_in_order(school, day, student, clock):
    walker = testing.make_student(school, first="Wes", last="Walker")
    released(day, walker, 900_000, clock(14, 56))
    assert [e.pk for e in chain.day_events(day.pk)[0]] == [900_000]

    released(day, student, 800_000, clock(14, 55))  # took its id earlier, commits now
    events, length = chain.day_events(day.pk)

    assert [e.pk for e in events] == [800_000, 900_000]  # the model's order: at, then id
    assert length == 2
    assert services.day_states(day).students[student.pk].status == "released"


def test_screens_share_one_fold_until_the_day_changes(school, staff, day, tag, student, sibling):
    services.day_states(day)
    services.day_states(day, homeroom_ids=[student.homeroom_id])
    assert services._fold_cache.resolutions == 1

    check_in(day, tag, staff)
    states = services.day_states(day)

    assert services._fold_cache.resolutions == 2
    assert states.students[student.pk].status == "waiting"


def test_a_board_change_folds_again(school, staff, day, student):
    assert services.day_states(day).students[student.pk].row.plan_type != PlanType.WALK

    test_views.plan(student, PlanType.WALK, staff)

    assert services.day_states(day).students[student.pk].row.plan_type == PlanType.WALK


def test_each_caller_gets_its_own_states(school, staff, day, tag, student, sibling):
    check_in(day, tag, staff)
    mine = services.day_states(day).students[student.pk]
    mine.late = True  # a view noting something on its copy
    mine.sent = mine.events[0]

    theirs = services.day_states(day).students[student.pk]

    assert theirs.late is False and theirs.sent is None


def test_a_familys_states_are_cut_from_the_fold_at_hand(school, staff, day, tag, student, sibling):
    check_in(day, tag, staff)
    services.day_states(day)  # a screen folded the school
    folds = services._fold_cache.resolutions

    family = services.day_states(day, student_ids={student.pk, sibling.pk})

    assert services._fold_cache.resolutions == folds
    assert set(family.students) == {student.pk, sibling.pk}
    assert {s.status for s in family} == {"waiting"}


def test_a_write_reads_its_own_uncommitted_events_and_nothing_is_kept(
    school, staff, day, student, clock
):
    with transaction.atomic():
        released(day, student, 700_000, clock(14, 55))
        inside = services.day_states(day).students[student.pk]
        assert inside.status == "released"
        transaction.set_rollback(True)

    assert services.day_states(day).students[student.pk].status == "on_campus"
    assert chain.day_events(day.pk) == ([], 0)


def test_nothing_new_costs_one_count(school, staff, day, tag, student, sibling,
                                     django_assert_num_queries):  # fmt: skip
    check_in(day, tag, staff)
    chain.day_events(day.pk)

    with django_assert_num_queries(1):
        events, length = chain.day_events(day.pk)

    assert length == len(events) == 2
