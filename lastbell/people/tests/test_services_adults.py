"""Adding, removing and verifying the adults who may pick a student up."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.audit.models import AuditEvent
from lastbell.people import services
from lastbell.people.models import AuthorizedAdult, PickupSource
from lastbell.people.tests.uploads import PDF_BYTES, PNG_BYTES, upload


def _add(student, actor, source=PickupSource.STAFF, **fields):
    values = {"first_name": "Rosa", "last_name": "Diaz", "relationship": "Grandmother",
              "phone": "(555) 010-0123", **fields}  # fmt: skip
    return services.adult_add(student=student, actor=actor, source=source, **values)


def test_it_adds_an_adult_with_its_audit_event(on_school_day, student, staff):
    adult = _add(student, staff, note="Drives a blue van")

    adult.refresh_from_db()
    assert (adult.full_name, adult.relationship, adult.phone) == (
        "Rosa Diaz", "Grandmother", "(555) 010-0123",
    )  # fmt: skip
    assert adult.source == PickupSource.STAFF and adult.added_by == staff
    assert adult.is_active and not adult.is_verified
    event = AuditEvent.objects.get(action="pickup.adult.added")
    assert (event.actor, event.student, event.school) == (staff, student, student.school)
    assert event.target_id == str(adult.pk)
    assert event.after["name"] == "Rosa Diaz"
    assert event.action_label == "Added a pickup adult"


def test_it_lets_a_guardian_add_an_adult_for_their_own_child(
    on_school_day, family_editing, student, guardian
):
    adult = _add(student, guardian.user, PickupSource.GUARDIAN)

    assert adult.source == PickupSource.GUARDIAN and adult.added_by == guardian.user
    assert AuditEvent.objects.get(action="pickup.adult.added").actor == guardian.user


def test_it_refuses_a_guardian_for_another_family_s_child(
    on_school_day, family_editing, student, other_family
):
    with pytest.raises(PermissionDenied):
        _add(student, other_family.user, PickupSource.GUARDIAN)

    assert not AuthorizedAdult.objects.exists()
    assert not AuditEvent.objects.exists()


def test_it_refuses_a_guardian_where_the_school_does_not_let_families_edit(
    on_school_day, school, student, guardian
):
    school.parent_access, school.parent_editing = True, False
    school.save()

    with pytest.raises(PermissionDenied, match=r"Call the school office at \(555\) 010-0100"):
        _add(student, guardian.user, PickupSource.GUARDIAN)

    assert not AuthorizedAdult.objects.exists()


def test_it_refuses_a_guardian_who_claims_to_be_staff(on_school_day, student, guardian):
    with pytest.raises(PermissionDenied):
        _add(student, guardian.user, PickupSource.STAFF)

    assert not AuthorizedAdult.objects.exists()


@pytest.mark.parametrize("persona", ["teacher", "other_staff"])
def test_it_refuses_staff_who_may_not_edit_the_student(request, on_school_day, student, persona):
    with pytest.raises(PermissionDenied):
        _add(student, request.getfixturevalue(persona))

    assert not AuthorizedAdult.objects.exists()


BAD = [
    pytest.param({"first_name": "  "}, "first_name", "Give the adult's first name.", id="no-first"),
    pytest.param({"last_name": ""}, "last_name", "Give the adult's last name.", id="no-last"),
    pytest.param({"relationship": ""}, "relationship",
                 "Say how this adult knows the student, such as grandmother or neighbor.",
                 id="no-relationship"),
    pytest.param({"phone": ""}, "phone",
                 "Give a phone number where the school can reach this adult.", id="no-phone"),
    pytest.param({"phone": "call her at work"}, "phone",
                 "Enter a phone number with its area code, such as (555) 010-0123.",
                 id="words-for-a-phone"),
    pytest.param({"phone": "010-01"}, "phone",
                 "Enter a phone number with its area code, such as (555) 010-0123.",
                 id="too-few-digits"),
    pytest.param({"phone": "+1 555 010 0123 4567 8901"}, "phone",
                 "Enter a phone number with its area code, such as (555) 010-0123.",
                 id="too-many-digits"),
    pytest.param({"first_name": "R" * 101}, "first_name",
                 "Keep this to 100 characters or fewer.", id="long-name"),
    pytest.param({"photo": "pdf"}, "photo",
                 "The photo must be a JPEG, PNG or WebP picture. This file is not one of "
                 "those (whatever its name says): save it in one of those formats and try "
                 "again.", id="photo-is-a-pdf"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "field", "message"), BAD)
def test_it_refuses_bad_input_and_saves_nothing(
    on_school_day, student, staff, private_media, fields, field, message
):
    if fields.get("photo") == "pdf":
        fields = {"photo": upload("face.jpg", PDF_BYTES, "image/jpeg")}

    with pytest.raises(ValidationError) as caught:
        _add(student, staff, **fields)

    assert caught.value.message_dict == {field: [message]}
    assert not AuthorizedAdult.objects.exists()
    assert not AuditEvent.objects.exists()
    assert not private_media.exists() or not any(private_media.rglob("*.*"))


@pytest.mark.parametrize(
    "phone", ["(555) 010-0123", "555.010.0123", "+44 20 7946 0958", "555-010-0123 ext. 42"]
)
def test_it_accepts_the_usual_ways_of_writing_a_phone_number(on_school_day, student, staff, phone):
    assert _add(student, staff, phone=phone).phone == phone


def test_it_refuses_a_second_entry_for_the_same_person(on_school_day, student, staff):
    _add(student, staff)

    with pytest.raises(ValidationError, match="Rosa Diaz is already on Ana Rivera's pickup list"):
        _add(student, staff, first_name=" rosa ", last_name="DIAZ")

    assert AuthorizedAdult.objects.count() == 1


def test_it_refuses_a_guardian_as_an_adult(on_school_day, student, guardian, staff):
    with pytest.raises(ValidationError, match="Maria Lopez is already on file as a guardian"):
        _add(student, staff, first_name="Maria", last_name="Lopez")


def test_it_refuses_a_person_a_custody_restriction_names(
    on_school_day, family_editing, student, staff, guardian
):
    services.restriction_record(
        student=student, actor=staff, person_name="Victor Diaz", kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=on_school_day,
    )  # fmt: skip

    with pytest.raises(ValidationError, match="A custody restriction on file names Victor Diaz"):
        _add(student, guardian.user, PickupSource.GUARDIAN, first_name="Victor")

    assert not AuthorizedAdult.objects.exists()


def test_it_keeps_the_photo_under_a_private_name_with_its_real_type(
    on_school_day, student, staff, private_media
):
    adult = _add(student, staff, photo=upload("../../evil.jpg", PNG_BYTES, "image/jpeg"))

    assert adult.photo.name.startswith("private/pickup-photos/")
    assert adult.photo.name.endswith(".png")
    assert "evil" not in adult.photo.name
    stored = private_media / adult.photo.name
    assert stored.read_bytes() == PNG_BYTES


def test_it_removes_an_adult_softly_with_its_audit_event(on_school_day, student, staff):
    adult = _add(student, staff)

    services.adult_remove(adult=adult, actor=staff, source=PickupSource.STAFF)

    adult.refresh_from_db()
    assert adult.removed_at is not None and adult.removed_by == staff
    assert AuthorizedAdult.objects.filter(pk=adult.pk).exists()  # kept for the record
    assert not AuthorizedAdult.objects.filter(student=student).active().exists()
    event = AuditEvent.objects.get(action="pickup.adult.removed")
    assert (event.before["removed"], event.after["removed"]) == (False, True)


def test_it_removes_an_adult_once(on_school_day, student, staff):
    adult = _add(student, staff)
    services.adult_remove(adult=adult, actor=staff, source=PickupSource.STAFF)

    services.adult_remove(adult=adult, actor=staff, source=PickupSource.STAFF)

    assert AuditEvent.objects.filter(action="pickup.adult.removed").count() == 1


def test_it_lets_a_guardian_remove_an_adult_the_office_added(
    on_school_day, family_editing, student, staff, guardian
):
    adult = _add(student, staff)

    services.adult_remove(adult=adult, actor=guardian.user, source=PickupSource.GUARDIAN)

    adult.refresh_from_db()
    assert adult.removed_by == guardian.user


def test_it_refuses_a_guardian_removing_another_family_s_adult(
    on_school_day, family_editing, student, staff, other_family
):
    adult = _add(student, staff)

    with pytest.raises(PermissionDenied):
        services.adult_remove(adult=adult, actor=other_family.user, source=PickupSource.GUARDIAN)

    adult.refresh_from_db()
    assert adult.is_active


def test_it_lets_the_same_person_be_added_again_after_removal(on_school_day, student, staff):
    services.adult_remove(adult=_add(student, staff), actor=staff, source=PickupSource.STAFF)

    again = _add(student, staff)

    assert again.is_active
    assert AuthorizedAdult.objects.count() == 2


@pytest.mark.parametrize("role", [Role.DISMISSAL_STAFF, Role.SCHOOL_ADMIN])
def test_it_lets_office_staff_verify_an_adult(on_school_day, school, student, staff, role):
    adult = _add(student, staff)
    verifier = testing.make_staff(school, role)

    services.adult_verify(adult=adult, actor=verifier)

    adult.refresh_from_db()
    assert adult.is_verified and adult.verified_by == verifier
    event = AuditEvent.objects.get(action="pickup.adult.verified")
    assert event.actor == verifier and event.before["verified"] is None
    assert event.after["verified"].startswith(str(verifier))


def test_it_lets_a_district_admin_verify_an_adult(on_school_day, student, staff, district_admin):
    adult = _add(student, staff)

    services.adult_verify(adult=adult, actor=district_admin)

    adult.refresh_from_db()
    assert adult.verified_by == district_admin


@pytest.mark.parametrize("persona", ["guardian", "teacher", "other_staff"])
def test_it_refuses_verification_by_anyone_but_office_staff(
    request, on_school_day, family_editing, student, staff, persona
):
    adult = _add(student, staff)
    user = request.getfixturevalue(persona)
    user = getattr(user, "user", None) or user  # a guardian signs in as their user

    with pytest.raises(PermissionDenied):
        services.adult_verify(adult=adult, actor=user)

    adult.refresh_from_db()
    assert not adult.is_verified
    assert not AuditEvent.objects.filter(action="pickup.adult.verified").exists()


def test_it_does_not_verify_a_removed_adult(on_school_day, student, staff):
    adult = _add(student, staff)
    services.adult_remove(adult=adult, actor=staff, source=PickupSource.STAFF)

    with pytest.raises(ValidationError, match="was removed from the pickup list"):
        services.adult_verify(adult=adult, actor=staff)

    adult.refresh_from_db()
    assert not adult.is_verified


def _refuse_audit_writes(execute, sql, params, many, context):
    if "audit_auditevent" in sql and sql.lstrip().upper().startswith("INSERT"):
        raise DatabaseError("the audit table refused the write")
    return execute(sql, params, many, context)


@pytest.mark.django_db(transaction=True)
def test_it_adds_and_audits_in_one_transaction(on_school_day, student, staff):
    """No surrounding transaction here: the service opens its own, or audit_record refuses.
    And if the audit write fails, the adult is not saved either."""
    with connection.execute_wrapper(_refuse_audit_writes), pytest.raises(DatabaseError):
        _add(student, staff)
    assert not AuthorizedAdult.objects.exists()

    adult = _add(student, staff)
    with connection.execute_wrapper(_refuse_audit_writes), pytest.raises(DatabaseError):
        services.adult_verify(adult=adult, actor=staff)
    adult.refresh_from_db()
    assert not adult.is_verified

    with connection.execute_wrapper(_refuse_audit_writes), pytest.raises(DatabaseError):
        services.adult_remove(adult=adult, actor=staff, source=PickupSource.STAFF)
    adult.refresh_from_db()
    assert adult.is_active

    services.adult_verify(adult=adult, actor=staff)
    services.adult_remove(adult=adult, actor=staff, source=PickupSource.STAFF)
    assert AuditEvent.objects.filter(target_id=str(adult.pk)).count() == 3
