from django.conf import settings
from django.db import models
from django.utils import timezone


class Via(models.TextChoices):
    WEB = "web", "Web"
    API = "api", "API"
    IMPORT = "import", "Import"
    SYSTEM = "system", "System"


# What staff read in the History tab for each dotted action.
ACTION_LABELS = {
    "api.token.created": "Made an API token",
    "api.token.revoked": "Revoked an API token",
    "attendance.absence.created": "Recorded an absence",
    "attendance.absence.updated": "Corrected an absence",
    "attendance.absence.deleted": "Withdrew an absence",
    "attendance.codes.saved": "Changed the attendance codes",
    "truancy.policy.saved": "Changed the truancy policy",
    "truancy.policy.removed": "Went back to the district's truancy policy",
    "truancy.letter.issued": "Issued a truancy letter",
    "truancy.letter.voided": "Voided a truancy letter",
    "truancy.letter.reviewed": "Kept a truancy letter after its count fell",
    "truancy.batch.issued": "Issued truancy letters",
    "truancy.batch.emailed": "Emailed truancy letters to guardians",
    "truancy.batch.retried": "Asked for a letter run's PDF again",
    "truancy.conference.saved": "Recorded a parent conference",
    "truancy.referral.saved": "Recorded an attendance board referral",
    "truancy.template.saved": "Changed a letter template",
    "truancy.template.reset": "Went back to a default letter template",
    "family.invited": "Invited a family",
    "feed.saved": "Set up the scheduled bus feed",
    "feed.pull.requested": "Asked for a bus feed pull",
    "feed.pull.applied": "Pulled the bus feed",
    "feed.pull.unchanged": "Pulled the bus feed (no change)",
    "feed.pull.failed": "Bus feed pull failed",
    "import.oneroster": "Imported the roster (OneRoster)",
    "import.attendance": "Imported an attendance file",
    "import.edfi": "Imported an Ed-Fi file",
    "import.check.queued": "Uploaded a file to check",
    "import.apply.queued": "Started importing a checked file",
    "family.missing_plan_sent": "Asked the parents for a plan",
    "family.language.set": "Changed a guardian's language",
    "family.password.set": "Set a guardian's password",
    "family.account.created": "Gave a guardian a sign-in account",
    "message.retried": "Retried a message",
    "plan.default.set": "Set the long-term default",
    "plan.default.ended": "Ended the long-term default",
    "plan.default.cancelled": "Dropped a scheduled long-term default",
    "plan.change.created": "Added a change",
    "plan.change.cancelled": "Removed a change",
    "program.created": "Created a program",
    "program.updated": "Edited a program",
    "program.enrollment.created": "Enrolled a student",
    "program.enrollment.ended": "Ended an enrollment",
    "school.tracker.enabled": "Turned the tracker on",
    "school.tracker.disabled": "Turned the tracker off",
    "school.settings.updated": "Changed the school's settings",
    "school.calendar.saved": "Changed the calendar",
    "school.calendar.removed": "Removed a calendar entry",
    "school.term.saved": "Added a term",
    "school.bus_route.created": "Added a bus route",
    "school.bus_route.updated": "Changed a bus route",
    "pickup.adult.added": "Added a pickup adult",
    "pickup.adult.removed": "Removed a pickup adult",
    "pickup.adult.verified": "Verified a pickup adult",
    "custody.restriction.recorded": "Recorded a custody restriction",
    "custody.restriction.ended": "Ended a custody restriction",
    "dismissal.tags.assigned": "Gave families car tags",
    "dismissal.checked_in": "Checked a family in",
    "dismissal.sent": "Sent students to the door",
    "dismissal.released": "Released a student",
    "dismissal.release_blocked": "Stopped a release (custody order)",
    "dismissal.group_released": "Released a group",
    "dismissal.undone": "Undid a dismissal step",
    "dismissal.late": "Flagged late pickups",
    "dismissal.emergency": "Switched to emergency reunification",
    "dismissal.accounted": "Accounted for a student",
    "dismissal.missing": "Reported a student missing",
    "dismissal.injured": "Reported a student injured",
    "dismissal.emergency_ended": "Ended emergency reunification (all clear)",
    "import.people": "Imported guardians and pickup adults",
    "account.two_step.enrolled": "Set up two-step sign-in",
    "account.two_step.removed": "Turned off two-step sign-in",
    "account.two_step.reset": "Reset a staff member's two-step sign-in",
    "district.two_step.required": "Changed whether staff need two-step sign-in",
    "privacy.student.exported": "Exported a student's records",
    "privacy.student.erased": "Erased a departed student's personal data",
    "privacy.retention.saved": "Changed how long records are kept",
    "privacy.retention.purged": "Removed records past their keeping time",
    "audit.student.redacted": "Removed a student's personal details from the history",
}


# What the History tab shows for the personal details redaction took out.
REMOVED = "(removed)"


def _shown(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_shown(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class AuditEvent(models.Model):
    """One change of state, written in the same transaction as the change. Never edited, except
    by `audit_redact_student` (personal fields only; see lastbell/audit/chain.py).

    The people, student, school and district it names are PROTECTed: the event's digest covers
    their ids, and on PostgreSQL a trigger refuses the UPDATE or DELETE that SET_NULL or CASCADE
    would send. Staff leave by being deactivated; a departed student is erased by redaction."""

    # A default, not auto_now_add: the digest is computed before the row is saved.
    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=80)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200)
    via = models.CharField(max_length=10, choices=Via.choices, default=Via.WEB)
    district = models.ForeignKey("schools.District", on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(
        "schools.School", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    student = models.ForeignKey(
        "people.Student", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    target_type = models.CharField(max_length=50)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    # The district's chain: position, SHA-256 of this row's content, and SHA-256 of the
    # previous row's chain hash and this digest (hex).
    seq = models.BigIntegerField()
    digest = models.CharField(max_length=64)
    chain = models.CharField(max_length=64)
    redacted = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["school", "-at"]),
            models.Index(fields=["student", "-at"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["district", "seq"], name="audit_one_event_per_link"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)

    def changes(self) -> list[tuple[str, str, str]]:
        """(what, before, after) for each key that the event touched, in words."""
        before, after = self.before or {}, self.after or {}
        keys = list(dict.fromkeys([*before, *after]))
        if self.redacted:  # what kind of change it was stays; the values are gone
            return [(key.replace("_", " "), REMOVED, REMOVED) for key in keys]
        return [
            (key.replace("_", " "), _shown(before.get(key)), _shown(after.get(key)))
            for key in keys
            if before.get(key) != after.get(key) or not before
        ]


class AuditChain(models.Model):
    """The head of a district's chain: its last link. Writers lock this row (select_for_update)
    to append, so concurrent writers take turns and the chain stays one sequence; `audit_verify`
    compares it with the last event, which shows events deleted from the end."""

    district = models.OneToOneField(
        "schools.District", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    seq = models.BigIntegerField(default=0)
    chain = models.CharField(max_length=64, default="0" * 64)

    def __str__(self):
        return f"District {self.district_id}: event no. {self.seq}, link {self.chain[:12]}"
