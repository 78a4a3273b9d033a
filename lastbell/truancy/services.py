"""Writes of truancy policies, each in one transaction with its audit event."""

from django.db import transaction

from lastbell.audit.models import Via
from lastbell.audit.services import audit_record
from lastbell.truancy.models import TruancyPolicy

FIELDS = ["counts", "tardy_minutes", "levels", "year_starts_on", "year_ends_on"]


def _snapshot(policy: TruancyPolicy | None) -> dict | None:
    if policy is None or policy.pk is None:
        return None
    return {
        "counts": list(policy.counts), "tardy_minutes": policy.tardy_minutes,
        "levels": [dict(level) for level in policy.levels],
        "year": f"{policy.year_starts_on:%Y-%m-%d} to {policy.year_ends_on:%Y-%m-%d}",
    }  # fmt: skip


def policy_save(*, district, school=None, values: dict, actor) -> TruancyPolicy:
    """Save the district's policy, or `school`'s override of it, from `values` (FIELDS).

    Raises ValidationError (nothing saved) when the policy can't be used. Letters already
    issued are not touched: they keep the level, count and dates they were issued with.
    """
    with transaction.atomic():
        found = TruancyPolicy.objects.select_for_update().filter(district=district)
        found = found.filter(school=school) if school else found.filter(school__isnull=True)
        policy = found.first() or TruancyPolicy(district=district, school=school)
        before = _snapshot(policy)
        for name in FIELDS:
            setattr(policy, name, values[name])
        policy.updated_by = actor
        policy.full_clean(exclude=["district", "school", "updated_by"])
        policy.save()
        after = _snapshot(policy)
        if before != after:
            where = school.name if school else district.name
            audit_record(
                action="truancy.policy.saved", actor=actor, target=policy, school=school,
                district=district, before=before, after=after, via=Via.WEB,
                label=f"Truancy policy of {where}",
            )  # fmt: skip
    return policy


def policy_remove(*, school, actor) -> bool:
    """Drop `school`'s own policy: the district's applies again. False: it had none."""
    with transaction.atomic():
        policy = TruancyPolicy.objects.select_for_update().filter(school=school).first()
        if policy is None:
            return False
        audit_record(
            action="truancy.policy.removed", actor=actor, target=policy, school=school,
            before=_snapshot(policy), after=None, via=Via.WEB,
            label=f"Truancy policy of {school.name}",
        )  # fmt: skip
        policy.delete()
    return True
