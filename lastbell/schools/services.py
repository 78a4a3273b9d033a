from django.db import transaction

from lastbell.audit.models import Via
from lastbell.audit.services import audit_record
from lastbell.schools.models import School


def school_tracker_set(*, school: School, enabled: bool, actor, via=Via.WEB) -> School:
    """Turn the dismissal tracker on or off for a school (district admins only)."""
    with transaction.atomic():
        school = School.objects.select_for_update().get(pk=school.pk)
        if school.tracker_enabled == enabled:
            return school
        school.tracker_enabled = enabled
        school.save(update_fields=["tracker_enabled"])
        audit_record(
            action="school.tracker.enabled" if enabled else "school.tracker.disabled",
            actor=actor, target=school, school=school,
            before={"tracker_enabled": not enabled}, after={"tracker_enabled": enabled},
            via=via,
        )  # fmt: skip
    return school
