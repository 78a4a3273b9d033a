"""Real objects for tests: a district with two schools and people who own or lack access."""

import datetime as dt
import itertools

from lastbell.accounts.models import Role, StaffMembership, User
from lastbell.people.models import Guardian, GuardianLink, Student
from lastbell.schools.models import BusRoute, District, Homeroom, School, SchoolTerm

_seq = itertools.count(1)
PASSWORD = "correct horse battery staple"  # noqa: S105 — test accounts only
THREE_PM = dt.time(15, 0)


def make_district(name="Riverside Unified", **fields) -> District:
    n = next(_seq)
    return District.objects.create(name=name, slug=f"district-{n}", **fields)


def make_school(
    district, name=None, *, term=(dt.date(2026, 8, 17), dt.date(2027, 6, 11)), **fields
) -> School:
    n = next(_seq)
    values = {
        "name": name or f"School {n}",
        "tracker_enabled": True,
        "timezone": "America/Los_Angeles",
        "office_phone": "(555) 010-0100",
        **{f: THREE_PM for f in School.DISMISSAL_FIELDS[:5]},
    }
    values.update(fields)
    school = School.objects.create(district=district, **values)
    if term:
        SchoolTerm.objects.create(school=school, name="2026–27", starts_on=term[0], ends_on=term[1])
    return school


def make_student(
    school,
    *,
    first="Ana",
    last=None,
    grade="3",
    homeroom=None,
    enrolled_on=dt.date(2026, 8, 1),
    **fields,
) -> Student:
    n = next(_seq)
    fields.setdefault("sis_id", f"S{n:06d}")
    return Student.objects.create(
        school=school,
        first_name=first,
        last_name=last or f"Student{n}",
        grade=grade,
        homeroom=homeroom,
        enrolled_on=enrolled_on,
        **fields,
    )


def make_homeroom(school, name=None) -> Homeroom:
    return Homeroom.objects.create(school=school, name=name or f"Room {next(_seq)}")


def make_route(school, number=None, name="") -> BusRoute:
    return BusRoute.objects.create(school=school, number=number or str(next(_seq)), name=name)


def make_user(email=None, *, first="Pat", last="Staff") -> User:
    email = email or f"user{next(_seq)}@example.org"
    return User.objects.create_user(email, PASSWORD, first_name=first, last_name=last)


def make_staff(school, role=Role.DISMISSAL_STAFF, *, homerooms=(), **user_fields) -> User:
    user = make_user(**user_fields)
    membership = StaffMembership.objects.create(
        user=user, district=school.district, school=school, role=role
    )
    membership.homerooms.set(homerooms)
    return user


def make_district_admin(district, **user_fields) -> User:
    user = make_user(**user_fields)
    StaffMembership.objects.create(user=user, district=district, role=Role.DISTRICT_ADMIN)
    return user


def make_guardian(student, *, first="Maria", last="Lopez", with_user=True, **fields) -> Guardian:
    user = make_user(first=first, last=last) if with_user else None
    guardian = Guardian.objects.create(
        district=student.school.district,
        user=user,
        first_name=first,
        last_name=last,
        email=user.email if user else "",
        **fields,
    )
    GuardianLink.objects.create(guardian=guardian, student=student, relationship="Parent")
    return guardian
