"""Who may take a student home: guardians, then the adults on the pickup list."""

from lastbell import testing
from lastbell.people import services
from lastbell.people.models import PickupSource


def _adult(student, staff, first, last="Diaz"):
    return services.adult_add(
        student=student, actor=staff, source=PickupSource.STAFF, first_name=first,
        last_name=last, relationship="Aunt", phone="555-010-0199",
    )  # fmt: skip


def test_it_lists_guardians_then_active_adults(on_school_day, student, guardian, staff):
    rosa = _adult(student, staff, "Rosa")
    gone = _adult(student, staff, "Luis")
    services.adult_remove(adult=gone, actor=staff, source=PickupSource.STAFF)
    services.adult_verify(adult=rosa, actor=staff)
    pablo = _adult(student, staff, "Pablo", "Cruz")

    people = services.pickup_people(student)

    assert [(p.kind, p.name, p.verified) for p in people] == [
        ("guardian", "Maria Lopez", True),
        ("adult", "Pablo Cruz", False),
        ("adult", "Rosa Diaz", True),
    ]
    assert people[0].relationship == "Parent" and people[0].email == guardian.email
    assert people[2].record == rosa and people[1].record == pablo
    assert people[2].phone == "555-010-0199"


def test_it_lists_only_this_student_s_people(on_school_day, school, student, guardian, staff):
    classmate = testing.make_student(school, first="Ben")
    testing.make_guardian(classmate, first="Grace", last="Okafor")
    _adult(classmate, staff, "Omar", "Okafor")

    assert [p.name for p in services.pickup_people(student)] == ["Maria Lopez"]


def test_it_flags_a_guardian_named_by_a_restriction_in_effect(
    on_school_day, student, guardian, staff
):
    testing.make_guardian(student, first="Victor", last="Diaz")
    services.restriction_record(
        student=student, actor=staff, person_name="victor  DIAZ", kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=on_school_day,
    )  # fmt: skip

    flags = {p.name: p.restricted for p in services.pickup_people(student)}

    assert flags == {"Maria Lopez": False, "Victor Diaz": True}


def test_a_restriction_not_yet_in_effect_flags_nobody_today(
    on_school_day, student, guardian, staff
):
    services.restriction_record(
        student=student, actor=staff, person_name="Maria Lopez", kind="supervised_only",
        court_order_reference="FL-2026-0042", starts_on=on_school_day.replace(day=25),
    )  # fmt: skip

    assert not services.pickup_people(student)[0].restricted
    assert services.pickup_people(student, on_school_day.replace(day=25))[0].restricted
