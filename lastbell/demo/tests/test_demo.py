"""The demo district: realistic enough to show every part of the day board."""

import datetime as dt
from collections import Counter

import pytest
from django.contrib.auth import authenticate
from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from lastbell.accounts.models import Role, StaffMembership, User
from lastbell.attendance.models import Absence
from lastbell.demo.generator import (
    DEMO_PASSWORD,
    build_district,
    build_school,
    create_district,
    demo_signins,
    load_demo,
)
from lastbell.people.models import Guardian, GuardianLink, Student
from lastbell.plans import weekdays
from lastbell.plans.board import day_board
from lastbell.plans.models import (
    DefaultDay,
    Enrollment,
    Layer,
    LongTermDefault,
    PlanChange,
    PlanType,
    Program,
    Source,
)
from lastbell.schools.models import BusRoute, CalendarDay, School

# A Wednesday in the school year, as in lastbell/conftest.py.
TODAY = dt.date(2026, 11, 18)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo district, loaded once for the module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield load_demo(today=TODAY)
        transaction.set_rollback(True)


def test_three_kinds_of_school_with_about_1500_students(demo):
    schools = list(School.objects.order_by("name"))
    assert len(schools) >= 3
    assert all(school.tracker_enabled for school in schools)
    assert any(school.parent_access for school in schools)
    assert any(school.parent_editing for school in schools)
    assert 1400 <= Student.objects.count() <= 1600
    grades = {
        school.name: set(school.students.values_list("grade", flat=True)) for school in schools
    }
    assert {"K", "5"} <= grades["Maple Grove Elementary"]
    assert {"K", "8"} <= grades["Harbor View K-8 Academy"]
    assert grades["Ridgeline Middle School"] == {"6", "7", "8"}
    for school in schools:
        term = school.terms.get()
        assert term.starts_on <= TODAY <= term.ends_on
        assert all(school.regular_dismissal(day) for day in range(5))
        assert school.regular_dismissal(5) is None
        assert school.bus_routes.count() >= 3
    elementary = School.objects.get(name="Maple Grove Elementary")
    assert elementary.regular_dismissal(2) < elementary.regular_dismissal(1)  # short Wednesday


def test_homerooms_per_grade_with_their_teachers(demo):
    for school in School.objects.all():
        assert set(school.homerooms.values_list("students__grade", flat=True)) == set(
            school.students.values_list("grade", flat=True)
        )
        for homeroom in school.homerooms.all():
            assert homeroom.teachers.filter(role=Role.TEACHER, school=school).count() == 1
        roles = Counter(
            StaffMembership.objects.filter(school=school).values_list("role", flat=True)
        )
        assert roles[Role.SCHOOL_ADMIN] >= 1
        assert roles[Role.DISMISSAL_STAFF] >= 1
    assert StaffMembership.objects.filter(role=Role.DISTRICT_ADMIN, school=None).exists()


def test_families_share_guardians_and_speak_english_or_spanish(demo):
    per_student = Counter(GuardianLink.objects.values_list("student_id", flat=True))
    assert len(per_student) == Student.objects.count()
    assert set(per_student.values()) == {1, 2}
    siblings = Guardian.objects.annotate(n=Count("links")).filter(n__gte=2)
    assert siblings.count() > 50
    assert set(Guardian.objects.values_list("language", flat=True)) == {"en", "es"}
    assert Guardian.objects.filter(user__isnull=False).exists()
    first_names = set(Student.objects.values_list("first_name", flat=True))
    last_names = set(Student.objects.values_list("last_name", flat=True))
    assert len(first_names) > 150
    assert len(last_names) > 150
    # Every family has a mailing address for the letters, and families differ.
    addresses = list(Guardian.objects.values_list("mailing_address", flat=True))
    assert all(addresses) and len(set(addresses)) > len(addresses) / 3


def test_the_day_board_today_shows_every_layer_and_some_missing(demo):
    for school in School.objects.all():
        board = day_board(school, TODAY)
        assert board.is_school_day
        layers = Counter(row.layer for row in board.rows)
        assert {Layer.ABSENCE, Layer.CHANGE, Layer.PROGRAM, Layer.DEFAULT} <= set(layers)
        assert 0.02 <= board.missing_count / board.total <= 0.07, school
        assert layers[Layer.DEFAULT] > board.total / 2
        types = {row.plan_type for row in board.rows}
        assert {PlanType.BUS, PlanType.PICKUP, PlanType.WALK, PlanType.PROGRAM} <= types
    absences = Absence.objects.filter(date=TODAY)
    assert absences.filter(excused=True).exists()
    assert absences.filter(excused=False).exists()
    early = absences.filter(kind=Absence.Kind.EARLY_DEPARTURE)
    assert early.count() >= 2
    assert all(absence.departs_at for absence in early)


def test_defaults_come_from_every_source_with_who_set_them(demo):
    defaults = LongTermDefault.objects.select_related("set_by", "student")
    assert set(defaults.values_list("source", flat=True)) == set(Source.values)
    bus_sources = Counter(
        DefaultDay.objects.filter(plan_type=PlanType.BUS, weekday=0).values_list(
            "default__source", flat=True
        )
    )
    assert bus_sources.most_common(1)[0][0] == Source.IMPORT
    staff_ids = set(StaffMembership.objects.values_list("user_id", flat=True))
    for default in defaults:
        if default.source in (Source.IMPORT, Source.SYSTEM):
            assert default.set_by is None and default.source_detail
        elif default.source == Source.STAFF:
            assert default.set_by_id in staff_ids
        else:
            assert default.set_by.guardian.links.filter(student=default.student).exists()
    for model in (PlanChange, Enrollment):
        rows = model.objects.exclude(source__in=[Source.IMPORT, Source.SYSTEM])
        assert not rows.filter(set_by=None).exists()
    assert PlanChange.objects.filter(source=Source.GUARDIAN).exists()
    # Every version has one day per school weekday; programs and absences are never set there.
    days = DefaultDay.objects.values("default").annotate(n=Count("id"), lo=Min("weekday"),
                                                         hi=Max("weekday"))  # fmt: skip
    assert {(d["n"], d["lo"], d["hi"]) for d in days} == {(5, 0, 4)}
    assert LongTermDefault.objects.count() == days.count()
    unsettable = [PlanType.PROGRAM, PlanType.ABSENCE]
    assert not DefaultDay.objects.filter(plan_type__in=unsettable).exists()
    assert not PlanChange.objects.filter(plan_type__in=unsettable).exists()
    # Versions: some ended when a new one started, some start later.
    assert LongTermDefault.objects.filter(ends_on__lt=TODAY).exists()
    assert LongTermDefault.objects.filter(starts_on__gt=TODAY).exists()


def test_plans_vary_by_weekday_and_changes_take_every_shape(demo):
    varying = LongTermDefault.objects.annotate(
        kinds=Count("days__plan_type", distinct=True)
    ).filter(kinds__gt=1)
    assert varying.count() > 50
    changes = PlanChange.objects.all()
    assert changes.filter(starts_on=TODAY, ends_on=TODAY).exists()
    assert changes.filter(starts_on__lt=TODAY, ends_on__gt=TODAY, weekdays=weekdays.ALL_DAYS)
    fridays = changes.filter(weekdays=weekdays.bit(4))
    assert fridays.exists()
    assert all((c.ends_on - c.starts_on).days >= 7 for c in fridays)
    assert changes.filter(ends_on__lt=TODAY).exists()
    assert changes.filter(starts_on__gt=TODAY).exists()
    assert changes.filter(cancelled_at__isnull=False).exists()


def test_programs_run_on_their_days_within_capacity(demo):
    for school in School.objects.all():
        care = Program.objects.get(school=school, kind=Program.Kind.CARE)
        assert care.weekdays == weekdays.SCHOOL_WEEK
        assert care.starts_on <= TODAY <= care.ends_on
        clubs = Program.objects.filter(school=school).exclude(kind=Program.Kind.CARE)
        assert any(club.weekdays != weekdays.SCHOOL_WEEK for club in clubs)
        for program in Program.objects.filter(school=school).annotate(n=Count("enrollments")):
            assert program.capacity and 0 < program.n <= program.capacity
    for enrollment in Enrollment.objects.select_related("program"):
        assert enrollment.weekdays and not enrollment.weekdays & ~enrollment.program.weekdays
    assert (
        Enrollment.objects.exclude(weekdays=weekdays.SCHOOL_WEEK)
        .filter(program__kind=Program.Kind.CARE)
        .exists()
    )


def test_calendar_has_thanksgiving_and_an_early_release(demo):
    school = School.objects.get(name="Maple Grove Elementary")
    holidays = school.calendar_days.filter(kind=CalendarDay.Kind.HOLIDAY)
    assert {dt.date(2026, 11, 26), dt.date(2026, 11, 27)} <= set(
        holidays.values_list("date", flat=True)
    )
    assert not day_board(school, dt.date(2026, 11, 26)).is_school_day
    early = school.calendar_days.filter(kind=CalendarDay.Kind.EARLY_RELEASE)
    assert early.exists() and all(day.dismissal_time for day in early)
    assert school.dismissal_time_on(dt.date(2026, 11, 25)) == dt.time(12, 0)


def test_the_printed_sign_ins_work(demo):
    roles = [role for role, _, _ in demo]
    assert any(role.startswith("District admin") for role in roles)
    assert any(role.startswith("Guardian") for role in roles)
    assert sum(role.startswith("Teacher") for role in roles) == 3
    request = RequestFactory().post("/accounts/sign-in/")  # as the sign-in page asks (axes)
    for role, email, password in demo:
        assert password == DEMO_PASSWORD
        user = authenticate(request, email=email, password=password)
        assert user is not None, role
        if role.startswith("Guardian"):
            assert user.guardian.students.count() >= 2
        else:
            assert user.memberships.exists()
    assert authenticate(request, email=demo[0][1], password="wrong") is None
    assert demo_signins() == demo  # what `lastbell serve` prints on a later start


def test_building_is_fast_in_queries_and_constant_on_the_board(demo):
    """bulk_create all the way: a bigger school takes no more queries to build or to read."""
    district = create_district(slug="bench")
    with CaptureQueriesContext(connection) as small_build:
        small = build_school(district, students=60, today=TODAY, seed=1)
    with CaptureQueriesContext(connection) as big_build:
        big = build_school(district, students=600, today=TODAY, seed=2, kind="elementary")
    assert len(big_build) <= len(small_build) + 5
    with CaptureQueriesContext(connection) as small_board:
        day_board(small, TODAY)
    with CaptureQueriesContext(connection) as big_board:
        day_board(big, TODAY)
    assert len(small_board) == len(big_board)


def test_the_same_seed_builds_the_same_school(demo):
    def names(slug):
        school = build_school(create_district(slug=slug), students=80, today=TODAY, seed=7)
        return list(school.students.order_by("sis_id").values_list("first_name", "last_name"))

    assert names("one") == names("two")


def test_build_district_takes_turns_between_kinds_of_school(demo):
    district = build_district(schools=4, students_per_school=30, today=TODAY, seed=3)
    schools = list(district.schools.order_by("id"))
    assert [s.name for s in schools] == [
        "Maple Grove Elementary", "Harbor View K-8 Academy", "Ridgeline Middle School",
        "Cedar Creek Elementary",
    ]  # fmt: skip
    assert Student.objects.filter(school__district=district).count() == 120
    assert BusRoute.objects.filter(school__district=district).count() == 12
    assert User.objects.filter(email=f"admin@{district.slug}.example.org").exists()


def test_history_shows_the_changes_people_made(demo):
    from lastbell.audit.models import AuditEvent
    from lastbell.plans.models import PlanChange

    by_people = PlanChange.objects.filter(set_by__isnull=False)
    events = AuditEvent.objects.filter(action="plan.change.created")
    assert by_people.exists()
    assert set(events.values_list("target_id", flat=True)) == {
        str(pk) for pk in by_people.values_list("pk", flat=True)
    }
    assert all(e.school_id and e.student_id and e.after["type"] for e in events)


def test_pickup_lists_and_a_custody_order_for_the_printed_family(demo):
    from lastbell.people.models import AuthorizedAdult, CustodyRestriction
    from lastbell.people.services import pickup_people

    adults = AuthorizedAdult.objects.all()
    assert adults.count() > 300
    assert 0 < adults.filter(verified_at__isnull=False).count() < adults.count()
    guardian_emails = [email for role, email, _ in demo if role.startswith("Guardian")]
    restricted = CustodyRestriction.objects.filter(
        student__guardians__user__email__in=guardian_emails
    )
    assert restricted.count() == len(guardian_emails)
    # The named person is not one of the family's guardians, and is not on the pickup list.
    for restriction in restricted:
        people = pickup_people(restriction.student, TODAY)
        assert not any(person.restricted for person in people)


def test_the_term_so_far_gives_the_truancy_pages_something_to_show(demo):
    from lastbell.schools.models import District
    from lastbell.truancy import chronic, tracker

    district = District.objects.get()
    due = {level: tracker.due(district=district, level=level, on=TODAY) for level in (1, 2, 3)}
    # Letter 1 is due to many; some already count enough for letter 2 or 3 (issued in order).
    assert len(due[1]) >= 5
    assert max(row.reached for row in due[1]) >= 2
    short = Absence.objects.filter(kind=Absence.Kind.TARDY, minutes__lte=30)
    assert short.exists()  # tardies that never count
    tiers = {row.tier for row in chronic.report(district=district, on=TODAY).rows}
    assert len(tiers) >= 2
