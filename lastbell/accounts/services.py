"""Changes to how staff sign in, each in one transaction with its audit event."""

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from lastbell.accounts.models import StaffMembership
from lastbell.audit.services import audit_record


def _home_district(user):
    membership = StaffMembership.objects.filter(user=user).select_related("district").first()
    return membership.district if membership else None


def two_step_enrolled(*, device: TOTPDevice, actor) -> None:
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=device.user_id).exclude(pk=device.pk).delete()
        audit_record(
            action="account.two_step.enrolled", actor=actor, target=device.user,
            district=_home_district(device.user), after={"two_step": True},
            label=f"Two-step sign-in of {device.user}",
        )  # fmt: skip


def two_step_removed(*, user, actor) -> None:
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        audit_record(
            action="account.two_step.removed", actor=actor, target=user,
            district=_home_district(user), before={"two_step": True}, after={"two_step": False},
            label=f"Two-step sign-in of {user}",
        )  # fmt: skip


def two_step_reset(*, district, user, actor) -> bool:
    """A district admin takes away a staff member's app (a lost phone): they set it up again
    at their next sign-in if the district requires it. False when there was none."""
    with transaction.atomic():
        deleted, _ = TOTPDevice.objects.filter(user=user).delete()
        if not deleted:
            return False
        audit_record(
            action="account.two_step.reset", actor=actor, target=user, district=district,
            before={"two_step": True}, after={"two_step": False},
            label=f"Two-step sign-in of {user}",
        )  # fmt: skip
    return True


def district_two_step_set(*, district, required: bool, actor) -> None:
    with transaction.atomic():
        before = district.require_two_factor
        district.require_two_factor = required
        district.save(update_fields=["require_two_factor"])
        audit_record(
            action="district.two_step.required", actor=actor, target=district,
            before={"require_two_factor": before}, after={"require_two_factor": required},
            label=f"Two-step sign-in for staff of {district}",
        )  # fmt: skip
