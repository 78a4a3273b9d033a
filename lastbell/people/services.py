"""Who may pick a student up: authorized adults and custody restrictions.

Every change is one transaction with its audit event. Guardians add and remove the adults of
their own children (where the school lets families edit); only staff who may edit the school
verify an adult or record and end a custody restriction.
"""

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lastbell.accounts.access import school_access
from lastbell.audit.models import Via
from lastbell.audit.services import audit_record
from lastbell.people import files
from lastbell.people.models import (
    AuthorizedAdult,
    CustodyRestriction,
    GuardianLink,
    PickupSource,
    RestrictionKind,
    Student,
    name_key,
)

MAX_ADULTS = 20

# The sentences the forms and the services share, so a field left empty reads the same
# whichever of the two notices it.
MESSAGES = {
    "first_name": gettext_lazy("Give the adult's first name."),
    "last_name": gettext_lazy("Give the adult's last name."),
    "relationship": gettext_lazy(
        "Say how this adult knows the student, such as grandmother or neighbor."
    ),
    "phone": gettext_lazy("Give a phone number where the school can reach this adult."),
    "phone_invalid": gettext_lazy(
        "Enter a phone number with its area code, such as (555) 010-0123."
    ),
    "person_name": gettext_lazy(
        "Give the name of the person, as it is written on the court order."
    ),
    "kind": gettext_lazy("Choose what the court order says."),
    "court_order_reference": gettext_lazy(
        "Give the court order's case number or reference, as written on it."
    ),
    "starts_on": gettext_lazy("Give the date the court order starts."),
    "date_invalid": gettext_lazy("Enter a date such as 2026-11-30."),
    "reason": gettext_lazy("Say why the restriction ends, such as the court order that lifted it."),
}

PHONE_CHARACTERS = re.compile(r"^\+?[0-9 ().\-/]+(\s*(x|ext\.?)\s*[0-9]{1,6})?$", re.IGNORECASE)


def _error(errors: dict[str, str]) -> ValidationError:
    return ValidationError({field: [message] for field, message in errors.items()})


# --- who may do what ------------------------------------------------------------------------


def _staff_can_edit(actor, school) -> bool:
    if actor is None or not actor.is_authenticated:
        return False
    try:
        return school_access(actor, school.id).can_edit
    except Http404:
        return False


def _require_staff(actor, school, doing: str):
    if not _staff_can_edit(actor, school):
        raise PermissionDenied(
            f"Only the school's office staff can {doing}. Ask the front office to do it."
        )


def is_guardian_of(user, student) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return GuardianLink.objects.filter(student=student, guardian__user=user).exists()


def _require_may_change_adults(actor, student, source):
    if source == PickupSource.STAFF:
        _require_staff(actor, student.school, "change this student's pickup adults")
    elif source == PickupSource.GUARDIAN:
        if not is_guardian_of(actor, student):
            raise PermissionDenied(_("You can change the pickup adults of your own children only."))
        school = student.school
        if not (school.parent_access and school.parent_editing):
            if school.office_phone:
                message = _(
                    "%(school)s does not let families change pickup adults online. "
                    "Call the school office at %(phone)s."
                ) % {"school": school.name, "phone": school.office_phone}
            else:
                message = _(
                    "%(school)s does not let families change pickup adults online. "
                    "Call the school office."
                ) % {"school": school.name}
            raise PermissionDenied(message)
    else:
        raise ValueError(f"Unknown source {source!r}")


# --- authorized adults ------------------------------------------------------------------


def _adult_snapshot(adult: AuthorizedAdult) -> dict:
    return {
        "name": adult.full_name,
        "relationship": adult.relationship,
        "phone": adult.phone,
        "photo": bool(adult.photo),
        "note": adult.note,
        "added by": adult.get_source_display().lower(),
        "verified": (
            f"{adult.verified_by or 'staff'}, {adult.verified_at:%Y-%m-%d}"
            if adult.verified_at
            else None
        ),
        "removed": bool(adult.removed_at),
    }


def _clean(value: str) -> str:
    return " ".join((value or "").split())


def phone_error(phone: str) -> str | None:
    if not phone:
        return MESSAGES["phone"]
    digits = re.sub(r"\D", "", re.split(r"(?i)x|ext", phone)[0])
    if not PHONE_CHARACTERS.match(phone) or not 7 <= len(digits) <= 15:
        return MESSAGES["phone_invalid"]
    return None


def adult_add(
    *,
    student: Student,
    actor,
    source: str,
    first_name: str,
    last_name: str,
    relationship: str,
    phone: str,
    photo=None,
    note: str = "",
    via: str = Via.WEB,
) -> AuthorizedAdult:
    """Put an adult on the student's pickup list. Staff verify them later, in person."""
    _require_may_change_adults(actor, student, source)
    first_name, last_name = _clean(first_name), _clean(last_name)
    relationship, phone, note = _clean(relationship), _clean(phone), (note or "").strip()
    errors = {}
    for field, value, limit in (
        ("first_name", first_name, 100),
        ("last_name", last_name, 100),
        ("relationship", relationship, 50),
    ):
        if not value:
            errors[field] = MESSAGES[field]
        elif len(value) > limit:
            errors[field] = _("Keep this to %(limit_value)d characters or fewer.") % {
                "limit_value": limit
            }
    if error := phone_error(phone):
        errors["phone"] = error
    elif len(phone) > 40:
        errors["phone"] = MESSAGES["phone_invalid"]
    if len(note) > 500:
        errors["note"] = _("Keep the note to %(limit_value)d characters or fewer.") % {
            "limit_value": 500
        }
    photo = photo or None
    if photo is not None and (
        error := files.upload_error(
            photo, what="photo", allowed=files.PICTURES, max_bytes=files.PHOTO_MAX_BYTES
        )
    ):
        errors["photo"] = error
    if errors:
        raise _error(errors)
    name = f"{first_name} {last_name}"
    with transaction.atomic():
        # Two adds of one name at once would otherwise both pass the duplicate check.
        Student.objects.select_for_update(no_key=True).filter(pk=student.pk).first()
        _check_adult_name(student, name)
        adult = AuthorizedAdult(
            student=student, first_name=first_name, last_name=last_name,
            relationship=relationship, phone=phone, note=note, source=source, added_by=actor,
        )  # fmt: skip
        if photo is not None:
            adult.photo = photo
        adult.save()
        audit_record(
            action="pickup.adult.added", actor=actor, target=adult, school=student.school,
            student=student, after=_adult_snapshot(adult), via=via,
            label=f"Pickup adult {name} for {student.full_name}",
        )  # fmt: skip
    return adult


def _check_adult_name(student, name: str):
    """Refuse a second entry for one person, and anyone a custody restriction names."""
    key = name_key(name)
    restrictions = CustodyRestriction.objects.filter(student=student).current_or_upcoming(
        student.school.today()
    )
    if any(r.names(name) for r in restrictions):
        raise _error({NON_FIELD_ERRORS: _(
            "A custody restriction on file names %(name)s, so they can't be added as a pickup "
            "adult. If this is a mistake, call the school office."
        ) % {"name": name}})  # fmt: skip
    active = AuthorizedAdult.objects.filter(student=student).active()
    for adult in active:
        if name_key(adult.full_name) == key:
            raise _error({NON_FIELD_ERRORS: _(
                "%(adult)s is already on %(student)s's pickup list."
            ) % {"adult": adult.full_name, "student": student.full_name}})  # fmt: skip
    for guardian in student.guardians.all():
        if name_key(guardian.full_name) == key:
            raise _error({
                NON_FIELD_ERRORS: _("%(name)s is already on file as a guardian.")
                % {"name": guardian.full_name}
            })  # fmt: skip
    if active.count() >= MAX_ADULTS:
        raise _error({NON_FIELD_ERRORS: _(
            "A student can have at most %(count)d pickup adults on file. "
            "Remove one before adding another."
        ) % {"count": MAX_ADULTS}})  # fmt: skip


def adult_remove(*, adult: AuthorizedAdult, actor, source: str, via: str = Via.WEB):
    """Take an adult off the pickup list. The row stays, so past releases can still name them."""
    student = adult.student
    _require_may_change_adults(actor, student, source)
    with transaction.atomic():
        adult = AuthorizedAdult.objects.select_for_update(no_key=True).get(pk=adult.pk)
        if adult.removed_at:
            return adult
        before = _adult_snapshot(adult)
        adult.removed_at = timezone.now()
        adult.removed_by = actor
        adult.save(update_fields=["removed_at", "removed_by"])
        audit_record(
            action="pickup.adult.removed", actor=actor, target=adult, school=student.school,
            student=student, before=before, after=_adult_snapshot(adult), via=via,
            label=f"Pickup adult {adult.full_name} for {student.full_name}",
        )  # fmt: skip
    return adult


def adult_verify(*, adult: AuthorizedAdult, actor, via: str = Via.WEB) -> AuthorizedAdult:
    """Staff saw this adult's photo ID (or know them) and vouch for them."""
    student = adult.student
    _require_staff(actor, student.school, "mark a pickup adult verified")
    with transaction.atomic():
        adult = AuthorizedAdult.objects.select_for_update(no_key=True).get(pk=adult.pk)
        if adult.removed_at:
            raise _error({NON_FIELD_ERRORS: (
                f"{adult.full_name} was removed from the pickup list and can't be verified. "
                "Add them again first."
            )})  # fmt: skip
        if adult.verified_at:
            return adult
        before = _adult_snapshot(adult)
        adult.verified_at = timezone.now()
        adult.verified_by = actor
        adult.save(update_fields=["verified_at", "verified_by"])
        audit_record(
            action="pickup.adult.verified", actor=actor, target=adult, school=student.school,
            student=student, before=before, after=_adult_snapshot(adult), via=via,
            label=f"Pickup adult {adult.full_name} for {student.full_name}",
        )  # fmt: skip
    return adult


# --- custody restrictions -------------------------------------------------------------------


def _restriction_label(student: Student, restriction: CustodyRestriction) -> str:
    # The audit log stays in English, whatever the language of the page that wrote it.
    with translation.override(settings.LANGUAGE_CODE):
        return f"Custody restriction for {student.full_name}: {restriction}"


def _restriction_snapshot(restriction: CustodyRestriction) -> dict:
    with translation.override(settings.LANGUAGE_CODE):
        kind = restriction.get_kind_display()
    return {
        "restriction": kind,
        "person": restriction.person_name,
        "description": restriction.person_description,
        "court order": restriction.court_order_reference,
        "court order file": bool(restriction.court_order_file),
        "from": restriction.starts_on.isoformat(),
        "until": restriction.ends_on.isoformat() if restriction.ends_on else None,
        "ended": restriction.end_reason if restriction.ended_at else None,
    }


def restriction_dates_error(starts_on: dt.date, ends_on: dt.date | None, today: dt.date):
    if ends_on is not None and ends_on < starts_on:
        return "The restriction ends before it starts. Check both dates on the court order."
    if ends_on is not None and ends_on < today:
        return (
            "This restriction has already ended. Record restrictions that are in effect "
            "now or start later."
        )
    return None


def restriction_record(
    *,
    student: Student,
    actor,
    person_name: str,
    kind: str,
    court_order_reference: str,
    starts_on: dt.date | None,
    ends_on: dt.date | None = None,
    person_description: str = "",
    court_order_file=None,
    via: str = Via.WEB,
) -> CustodyRestriction:
    """Record a court-ordered restriction. From its first day it blocks a release to that person."""
    _require_staff(actor, student.school, "record a custody restriction")
    person_name, reference = _clean(person_name), _clean(court_order_reference)
    person_description = _clean(person_description)
    errors = {}
    if not person_name:
        errors["person_name"] = MESSAGES["person_name"]
    elif len(person_name) > 200:
        errors["person_name"] = "Keep the name to 200 characters or fewer."
    if kind not in RestrictionKind.values:
        errors["kind"] = MESSAGES["kind"]
    if not reference:
        errors["court_order_reference"] = MESSAGES["court_order_reference"]
    elif len(reference) > 200:
        errors["court_order_reference"] = "Keep the reference to 200 characters or fewer."
    if len(person_description) > 500:
        errors["person_description"] = "Keep the description to 500 characters or fewer."
    if starts_on is None:
        errors["starts_on"] = MESSAGES["starts_on"]
    elif error := restriction_dates_error(starts_on, ends_on, student.school.today()):
        errors["ends_on"] = error
    court_order_file = court_order_file or None
    if court_order_file is not None and (
        error := files.upload_error(
            court_order_file,
            what="court order",
            allowed=files.DOCUMENTS,
            max_bytes=files.COURT_ORDER_MAX_BYTES,
        )  # fmt: skip
    ):
        errors["court_order_file"] = error
    if errors:
        raise _error(errors)
    with transaction.atomic():
        restriction = CustodyRestriction(
            student=student, person_name=person_name, person_description=person_description,
            kind=kind, court_order_reference=reference, starts_on=starts_on, ends_on=ends_on,
            recorded_by=actor,
        )  # fmt: skip
        if court_order_file is not None:
            restriction.court_order_file = court_order_file
        restriction.save()
        audit_record(
            action="custody.restriction.recorded", actor=actor, target=restriction,
            school=student.school, student=student, after=_restriction_snapshot(restriction),
            via=via, label=_restriction_label(student, restriction),
        )  # fmt: skip
    return restriction


def restriction_end(
    *, restriction: CustodyRestriction, actor, reason: str, via: str = Via.WEB
) -> CustodyRestriction:
    """Staff end a restriction (a new order lifted it, it was entered by mistake). It stays on
    record with who ended it and why; a guardian can never end one."""
    student = restriction.student
    _require_staff(actor, student.school, "end a custody restriction")
    reason = _clean(reason)
    if not reason:
        raise _error({"reason": MESSAGES["reason"]})
    if len(reason) > 500:
        raise _error({"reason": "Keep the reason to 500 characters or fewer."})
    with transaction.atomic():
        restriction = CustodyRestriction.objects.select_for_update(no_key=True).get(
            pk=restriction.pk
        )
        if restriction.ended_at:
            raise _error({NON_FIELD_ERRORS: (
                f"This restriction was already ended on {restriction.ended_at:%B %-d, %Y}."
            )})  # fmt: skip
        before = _restriction_snapshot(restriction)
        restriction.ended_at = timezone.now()
        restriction.ended_by = actor
        restriction.end_reason = reason
        restriction.save(update_fields=["ended_at", "ended_by", "end_reason"])
        audit_record(
            action="custody.restriction.ended", actor=actor, target=restriction,
            school=student.school, student=student, before=before,
            after=_restriction_snapshot(restriction), via=via,
            label=_restriction_label(student, restriction),
        )  # fmt: skip
    return restriction


# --- reading ----------------------------------------------------------------------------


def active_restrictions(student: Student, date: dt.date | None = None):
    """The restrictions in effect for `student` on `date` (the school's today by default)."""
    date = date or student.school.today()
    return CustodyRestriction.objects.filter(student=student).in_effect_on(date)


def restriction_naming(student: Student, name: str, date: dt.date | None = None):
    """The restriction in effect that names `name` for this student, if any."""
    return next((r for r in active_restrictions(student, date) if r.names(name)), None)


def guardians_to_tell(student: Student, date: dt.date | None = None) -> list:
    """The student's guardians with an email or mobile, except anyone a custody order in
    effect names: they get no plans, no pickup details and no sign-in links."""
    date = date or student.school.today()
    # All restrictions, filtered here: a caller writing to many students prefetches them.
    restrictions = [r for r in student.custody_restrictions.all() if r.in_effect(date)]
    return [
        guardian
        for guardian in student.guardians.all()
        if (guardian.email or guardian.mobile)
        and not any(r.names(guardian.full_name) for r in restrictions)
    ]


@dataclass(frozen=True)
class PickupPerson:
    """Someone on file who may take the student home: a guardian or an authorized adult."""

    kind: str  # "guardian" or "adult"
    name: str
    relationship: str
    phone: str
    email: str
    # Guardians come from the school's enrollment records; an adult once staff checked them.
    verified: bool
    # Named by a restriction in effect: whatever the list says, do not release to them.
    restricted: bool
    record: object  # the Guardian or the AuthorizedAdult

    @property
    def is_guardian(self) -> bool:
        return self.kind == "guardian"


def pickup_people(student: Student, date: dt.date | None = None) -> list[PickupPerson]:
    """The student's guardians, then the adults on the pickup list, each by name.

    A person named by a custody restriction in effect on `date` is flagged `restricted`: a
    non-custodial parent is often still listed as a guardian in the school's records.
    """
    restrictions = list(active_restrictions(student, date))

    def restricted(name):
        return any(r.names(name) for r in restrictions)

    links = GuardianLink.objects.filter(student=student).select_related("guardian")
    people = [
        PickupPerson(
            kind="guardian",
            name=link.guardian.full_name,
            relationship=link.relationship,
            phone=link.guardian.mobile,
            email=link.guardian.email,
            verified=True,
            restricted=restricted(link.guardian.full_name),
            record=link.guardian,
        )  # fmt: skip
        for link in sorted(
            links,
            key=lambda link: (
                link.guardian.last_name.casefold(),
                link.guardian.first_name.casefold(),
            ),
        )
    ]
    adults = (
        AuthorizedAdult.objects.filter(student=student)
        .active()
        .select_related("added_by", "verified_by")
    )
    people += [
        PickupPerson(
            kind="adult",
            name=adult.full_name,
            relationship=adult.relationship,
            phone=adult.phone,
            email="",
            verified=adult.is_verified,
            restricted=restricted(adult.full_name),
            record=adult,
        )  # fmt: skip
        for adult in adults
    ]
    return people
