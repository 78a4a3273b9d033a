"""The rules of the dismissal (DESIGN.md §3, issue 5): check-in, release, chain of custody,
late pickups and emergency mode, at the service level."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.audit.models import AuditEvent
from lastbell.dismissal import services
from lastbell.dismissal.models import AppendOnly, CustodyEvent, DismissalDay, Verification
from lastbell.dismissal.services import Adult, Blocked, Refused
from lastbell.messaging.models import Message
from lastbell.people.models import AuthorizedAdult, CustodyRestriction, GuardianLink
from lastbell.plans.models import PlanType
from lastbell.plans.services import PlanSpec, default_set
from lastbell.schools.models import CalendarDay

Kind, To = CustodyEvent.Kind, CustodyEvent.To
DAY = dt.date(2026, 11, 18)  # a Wednesday; the fixture schools dismiss at 3 pm Pacific


def at(hour, minute=0):
    return dt.datetime(2026, 11, 18, hour, minute, tzinfo=dt.timezone(dt.timedelta(hours=-8)))


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
def sibling(school, guardian):
    kid = testing.make_student(school, first="Leo", last="Rivera")
    GuardianLink.objects.create(guardian=guardian, student=kid, relationship="Parent")
    return kid


def adult_of(student, first="Tía", last="Carmen"):
    return AuthorizedAdult.objects.create(
        student=student, first_name=first, last_name=last, relationship="Aunt",
        phone="555-0101", source="guardian",
    )  # fmt: skip


def restrict(student, name):
    return CustodyRestriction.objects.create(
        student=student, person_name=name, kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=dt.date(2026, 1, 1),
    )  # fmt: skip


# --- the day ---------------------------------------------------------------------------------


def test_a_day_is_made_once_with_the_school_s_dismissal_time(school, clock):
    day = services.day_of(school, DAY)
    assert (day.mode, day.dismiss_at) == (DismissalDay.Mode.NORMAL, dt.time(15))
    assert services.day_of(school, DAY).pk == day.pk
    assert DismissalDay.objects.count() == 1


def test_no_day_without_school(school, clock):
    assert services.day_of(school, dt.date(2026, 11, 21)) is None  # a Saturday


def test_an_early_release_day_has_its_own_time(school, clock):
    CalendarDay.objects.create(school=school, date=DAY, kind=CalendarDay.Kind.EARLY_RELEASE,
                               dismissal_time=dt.time(12, 30))  # fmt: skip
    day = services.day_of(school, DAY)
    assert (day.mode, day.dismiss_at) == (DismissalDay.Mode.EARLY_RELEASE, dt.time(12, 30))


# --- check-in --------------------------------------------------------------------------------


def test_one_check_in_covers_all_the_guardian_s_children_at_the_school(
    day, student, sibling, guardian, other_school
):
    elsewhere = testing.make_student(other_school, first="Mia")
    GuardianLink.objects.create(guardian=guardian, student=elsewhere, relationship="Parent")
    arrival, ids = services.check_in(day, actor=guardian.user, method="phone", guardian=guardian)
    assert sorted(ids) == sorted([student.pk, sibling.pk])
    states = services.day_states(day).students
    assert states[student.pk].status == states[sibling.pk].status == "waiting"
    assert AuditEvent.objects.filter(action="dismissal.checked_in").count() == 1
    # A second tap changes nothing.
    again, ids = services.check_in(day, actor=guardian.user, method="phone", guardian=guardian)
    assert (again.pk, ids) == (arrival.pk, [])
    assert CustodyEvent.objects.filter(kind=Kind.CHECKED_IN).count() == 2


def test_a_check_in_before_the_window_is_refused_in_words(day, guardian, clock):
    clock(14, 29)
    with pytest.raises(Refused, match=r"Check-in opens at 2:30\u202fpm, 30 minutes before"):
        services.check_in(day, actor=guardian.user, method="phone", guardian=guardian)
    assert not CustodyEvent.objects.exists()


def test_a_check_in_for_another_day_is_refused(school, guardian, clock):
    tomorrow = services.day_of(school, DAY + dt.timedelta(days=1))
    with pytest.raises(Refused, match="only for today"):
        services.check_in(tomorrow, actor=guardian.user, method="phone", guardian=guardian)


def test_a_check_in_skips_absent_and_released_children(day, student, sibling, guardian, staff):
    Absence.objects.create(student=sibling, date=DAY)
    _, ids = services.check_in(day, actor=guardian.user, method="phone", guardian=guardian)
    assert ids == [student.pk]
    services.release(day, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                     verification=Verification.CAR_TAG)  # fmt: skip
    with pytest.raises(Refused, match="Nobody left to pick up: Ana already left"):
        services.check_in(day, actor=guardian.user, method="phone", guardian=guardian)


def test_a_restricted_guardian_checks_in_nobody_they_may_not_take(day, student, sibling, guardian):
    restrict(student, guardian.full_name)
    _, ids = services.check_in(day, actor=guardian.user, method="phone", guardian=guardian)
    assert ids == [sibling.pk]


def test_a_car_tag_checks_in_its_family(school, day, student, sibling, guardian, staff):
    services.tags_assign(school)
    tag = student.tag.tag
    _, ids = services.check_in(day, actor=staff, method="tag", tag=tag)
    assert sorted(ids) == sorted([student.pk, sibling.pk])


# --- car tags --------------------------------------------------------------------------------


def test_siblings_share_a_tag_and_numbers_stay(school, student, sibling, guardian, clock):
    loner = testing.make_student(school, first="Zoe")
    assert services.tags_assign(school) == 3
    assert student.tag.tag_id == sibling.tag.tag_id != loner.tag.tag_id
    numbers = {student.tag.tag.number, loner.tag.tag.number}
    assert numbers == {1, 2}
    newcomer = testing.make_student(school, first="Max")
    assert services.tags_assign(school) == 1
    newcomer.refresh_from_db()
    assert newcomer.tag.tag.number == 3
    student.refresh_from_db()
    assert student.tag.tag.number in numbers


# --- release ---------------------------------------------------------------------------------


def test_a_release_records_who_to_whom_and_how(day, student, guardian, staff):
    event = services.release(day, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                             verification=Verification.QR)  # fmt: skip
    assert (event.kind, event.to, event.to_label, event.verification, event.by) == (
        Kind.RELEASED,
        To.GUARDIAN,
        guardian.full_name,
        "qr",
        staff,
    )
    assert services.day_states(day).students[student.pk].status == "released"
    audit = AuditEvent.objects.get(action="dismissal.released")
    assert audit.student_id == student.pk and audit.after["to"] == guardian.full_name


def test_a_release_to_an_adult_not_on_file_is_refused(student, other_school):
    stranger = testing.make_guardian(testing.make_student(other_school), first="Sam")
    adult = adult_of(student)
    adult.removed_at = at(12)
    adult.save()
    for kind, record_id in ((To.GUARDIAN, stranger.pk), (To.ADULT, adult.pk)):
        with pytest.raises(Refused, match="not on Ana's pickup list"):
            services.adult_for(student, kind, record_id)


def test_a_restricted_adult_is_blocked_even_with_the_family_s_car_tag(
    school, day, student, guardian, staff
):
    uncle = adult_of(student, "Tom", "Rivera")
    restrict(student, "tom  RIVERA")
    services.tags_assign(school)
    services.check_in(day, actor=staff, method="tag", tag=student.tag.tag)
    with pytest.raises(Blocked, match="Do not release Ana Rivera to Tom Rivera") as blocked:
        services.release(day, student, adult=services.adult_for(student, To.ADULT, uncle.pk),
                         actor=staff, verification=Verification.CAR_TAG)  # fmt: skip
    assert blocked.value.restriction.court_order_reference == "FL-2026-0042"
    assert not CustodyEvent.objects.filter(kind=Kind.RELEASED).exists()
    attempt = AuditEvent.objects.get(action="dismissal.release_blocked")
    assert (attempt.student_id, attempt.actor_id, attempt.after["adult"]) == (
        student.pk, staff.pk, "Tom Rivera")  # fmt: skip


def test_a_second_release_is_refused_and_an_undo_is_logged(day, student, guardian, staff):
    first = services.release(day, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                             verification=Verification.KNOWN)  # fmt: skip
    with pytest.raises(Refused, match="already released to Maria Lopez at 2:50"):
        services.release(day, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                         verification=Verification.KNOWN)  # fmt: skip
    undone = services.undo(first, actor=staff, reason="Wrong child tapped")
    assert (undone.kind, undone.undoes_id, undone.note) == (Kind.UNDONE, first.pk,
                                                            "Wrong child tapped")  # fmt: skip
    with pytest.raises(Refused, match="already undone"):
        services.undo(first, actor=staff)
    assert services.day_states(day).students[student.pk].status == "on_campus"
    timeline = services.student_timeline(day, student)
    assert [(e.kind, e.is_undone) for e in timeline] == [(Kind.RELEASED, True),
                                                         (Kind.UNDONE, False)]  # fmt: skip
    services.release(day, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                     verification=Verification.PHOTO_ID)  # fmt: skip
    assert services.day_states(day).students[student.pk].status == "released"


def test_an_absent_student_is_not_released(day, student, guardian, staff):
    Absence.objects.create(student=student, date=DAY)
    with pytest.raises(Refused, match="Ana is marked absent today"):
        services.release(day, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                         verification=Verification.KNOWN)  # fmt: skip


def test_a_release_needs_a_verification(day, student, guardian, staff):
    with pytest.raises(Refused, match="how you checked"):
        services.release(day, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                         verification="")  # fmt: skip


def test_the_chain_of_custody_is_append_only(day, student, guardian, staff):
    event = services.release(day, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                             verification=Verification.KNOWN)  # fmt: skip
    event.to_label = "Someone else"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        CustodyEvent.objects.filter(pk=event.pk).update(to_label="x")
    with pytest.raises(AppendOnly):
        CustodyEvent.objects.all().delete()
    assert CustodyEvent.objects.get().to_label == guardian.full_name


def test_sent_only_for_checked_in_students(day, student, sibling, guardian, teacher):
    Absence.objects.filter(student=sibling).delete()
    assert services.mark_sent(day, [student.pk], actor=teacher) == []
    services.check_in(day, actor=guardian.user, method="phone", guardian=guardian, door="Door 2")
    assert sorted(services.mark_sent(day, [student.pk, sibling.pk], actor=teacher)) == sorted(
        [student.pk, sibling.pk]
    )
    state = services.day_states(day).students[student.pk]
    assert (state.status, state.sent.door) == ("sent", "Door 2")


# --- groups ----------------------------------------------------------------------------------


def test_all_aboard_releases_the_bus_once_with_undo(day, school, student, sibling, route, staff,
                                                     guardian):  # fmt: skip
    for kid in (student, sibling):
        default_set(student=kid, days={d: PlanSpec(PlanType.BUS, bus_route=route)
                                       for d in range(5)}, actor=staff, starts_on=DAY)  # fmt: skip
    services.release(day, sibling, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                     verification=Verification.KNOWN)  # fmt: skip
    events = services.release_group(day, [student.pk, sibling.pk], to=To.BUS, label="Bus 12",
                                    actor=staff)  # fmt: skip
    assert [e.student_id for e in events] == [student.pk]
    assert services.day_states(day).counts()[PlanType.BUS] == {"on_campus": 0, "released": 2}
    services.undo(events[0], actor=staff)
    assert services.day_states(day).counts()[PlanType.BUS] == {"on_campus": 1, "released": 1}


# --- late ------------------------------------------------------------------------------------


def test_late_after_grace_flags_once_and_tells_the_guardians(day, student, sibling, guardian,
                                                             staff, clock):  # fmt: skip
    services.release(day, sibling, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                     verification=Verification.KNOWN)  # fmt: skip
    clock(15, 10)
    assert services.flag_late(day) == []  # 3:00 + 10 grace minutes: not yet
    clock(15, 11)
    assert services.flag_late(day) == [student.pk]
    assert services.flag_late(day) == []
    assert services.day_states(day).students[student.pk].late
    message = Message.objects.get(kind="late_pickup")
    assert message.student_id == student.pk and "still at" in message.body
    event = services.release(day, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                             verification=Verification.KNOWN)  # fmt: skip
    assert event.late


# --- emergency -------------------------------------------------------------------------------


def test_emergency_mode_tells_guardians_and_tightens_the_release(day, student, guardian, staff):
    queued = services.emergency_start(day, actor=staff, message="Go to the church lot.",
                                      site="St. Mark's, 12 Elm St")  # fmt: skip
    assert queued == Message.objects.filter(kind="emergency").count() >= 1
    assert "Go to the church lot." in Message.objects.filter(kind="emergency")[0].body
    with pytest.raises(Refused, match="already in emergency"):
        services.emergency_start(day, actor=staff, message="x")
    adult = Adult(To.GUARDIAN, guardian)
    with pytest.raises(Refused, match="photo ID"):
        services.release(day, student, adult=adult, actor=staff,
                         verification=Verification.CAR_TAG, reunifier="Ms. Lee",
                         comfortable=True)  # fmt: skip
    with pytest.raises(Refused, match="reunifier"):
        services.release(day, student, adult=adult, actor=staff,
                         verification=Verification.PHOTO_ID, comfortable=True)  # fmt: skip
    with pytest.raises(Refused, match="comfortable leaving with Maria Lopez"):
        services.release(day, student, adult=adult, actor=staff,
                         verification=Verification.PHOTO_ID, reunifier="Ms. Lee",
                         comfortable=False)  # fmt: skip
    services.account(day, student, status=Kind.ACCOUNTED, actor=staff)
    event = services.release(day, student, adult=adult, actor=staff,
                             verification=Verification.PHOTO_ID, reunifier="Ms. Lee",
                             comfortable=True)  # fmt: skip
    assert (event.reunifier, event.comfortable) == ("Ms. Lee", True)
    with pytest.raises(Refused, match="already released"):
        services.account(day, student, status=Kind.MISSING, actor=staff)


def test_in_an_emergency_families_check_in_at_the_desk_not_by_phone(day, student, guardian,
                                                                    staff):  # fmt: skip
    services.emergency_start(day, actor=staff, message="Go to the church lot.")
    with pytest.raises(Refused, match="reunification desk"):
        services.check_in(day, actor=guardian.user, method="phone", guardian=guardian)
    _, ids = services.check_in(day, actor=staff, method="desk", guardian=guardian)
    assert ids == [student.pk]


def test_in_an_emergency_no_group_is_released_and_no_release_is_late(day, student, guardian,
                                                                   staff, clock):  # fmt: skip
    services.emergency_start(day, actor=staff, message="Go to the church lot.")
    with pytest.raises(Refused, match="one by one at the reunification desk"):
        services.release_group(day, [student.pk], to=To.WALK, label="Walkers", actor=staff)
    assert not CustodyEvent.objects.filter(kind=Kind.RELEASED).exists()
    clock(16, 30)  # long after dismissal: a reunification is not a late pickup
    event = services.release(day, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                             verification=Verification.PHOTO_ID, reunifier="Ms. Lee",
                             comfortable=True)  # fmt: skip
    assert not event.late


def test_accounting_is_only_for_emergencies(day, student, staff):
    with pytest.raises(Refused, match="emergency mode"):
        services.account(day, student, status=Kind.MISSING, actor=staff)


# --- reading the day -------------------------------------------------------------------------


@pytest.mark.parametrize("students", [3, 30])
def test_the_day_s_states_cost_the_same_queries_for_any_number(school, clock, students):
    kids = [testing.make_student(school) for _ in range(students)]
    for kid in kids:
        testing.make_guardian(kid, with_user=False)
    day = services.day_of(school, DAY)
    staff = testing.make_staff(school)
    services.release_group(day, [k.pk for k in kids], to=To.WALK, label="Walkers", actor=staff)
    with CaptureQueriesContext(connection) as queries:
        states = services.day_states(day)
    assert len(states.students) == students
    assert len(queries) <= 10, [q["sql"][:60] for q in queries.captured_queries]


@pytest.mark.postgres
def test_postgresql_itself_refuses_to_change_or_delete_an_event(day, student, guardian, staff):
    from django.db import IntegrityError, transaction

    event = services.release(day, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                             verification=Verification.KNOWN)  # fmt: skip
    table = CustodyEvent._meta.db_table
    for sql in (f"UPDATE {table} SET to_label = 'x' WHERE id = %s",  # noqa: S608
                f"DELETE FROM {table} WHERE id = %s"):  # noqa: S608  # fmt: skip
        with (pytest.raises(IntegrityError, match="never edited or deleted"),
              transaction.atomic(), connection.cursor() as cursor):  # fmt: skip
            cursor.execute(sql, [event.pk])
    assert CustodyEvent.objects.get().to_label == guardian.full_name
