"""An audit event is written in the transaction of the change it records, never on its own."""

import pytest
from django.db import transaction

from lastbell import testing
from lastbell.audit.models import AuditEvent, Via
from lastbell.audit.services import NotInTransaction, audit_record


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_write_outside_a_transaction():
    district = testing.make_district()
    school = testing.make_school(district)

    with pytest.raises(NotInTransaction):
        audit_record(action="school.settings.updated", actor=None, target=school, school=school)

    assert not AuditEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_disappears_with_a_change_that_is_rolled_back():
    district = testing.make_district()
    school = testing.make_school(district)

    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(action="school.settings.updated", actor=None, target=school, school=school)
        raise RuntimeError("the change failed")

    assert not AuditEvent.objects.exists()


def test_it_fills_in_the_district_and_the_target(school, staff, student):
    with transaction.atomic():
        event = audit_record(
            action="plan.change.created",
            actor=staff,
            target=student,
            school=school,
            student=student,
            after={"type": "walk"},
        )

    assert (event.district, event.school, event.student) == (school.district, school, student)
    assert (event.target_type, event.target_id, event.target_label) == (
        "Student",
        str(student.id),
        "Ana Rivera",
    )
    assert (event.actor, event.actor_label, event.via) == (staff, "Dana Office", Via.WEB)


def test_it_takes_the_district_from_the_target_without_a_school(district_admin, guardian):
    with transaction.atomic():
        event = audit_record(action="guardian.updated", actor=district_admin, target=guardian)

    assert (event.district, event.school) == (guardian.district, None)
    assert event.target_type == "Guardian"


@pytest.mark.parametrize(
    ("via", "label"), [(Via.IMPORT, "Import"), (Via.SYSTEM, "System"), (Via.API, "System")]
)
def test_it_names_a_change_made_by_no_person(school, via, label):
    with transaction.atomic():
        event = audit_record(
            action="plan.default.set", actor=None, target=school, school=school, via=via
        )

    assert (event.actor, event.actor_label) == (None, label)


def test_it_records_an_event_about_a_district(district, district_admin):
    from django.db import transaction

    from lastbell.audit.services import audit_record

    with transaction.atomic():
        event = audit_record(action="district.updated", actor=district_admin, target=district)
    assert event.district == district and event.school is None
