"""A guardian's "I'm here" at pickup (issue 5 §3): what the family pages show for one school
today — the button, whether it works yet, and each child's state as the dismissal goes on.

The rules are the dismissal's (lastbell/dismissal/services.py: check_in, day_states); this
only reads them for one guardian. A child whose custody order names the guardian is left
out entirely: no button covers them and no state of theirs is shown.
"""

import dataclasses
import datetime as dt
import hashlib

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from lastbell.dismissal import services as dismissal
from lastbell.dismissal.models import DismissalDay
from lastbell.family.access import NoParentAccess
from lastbell.people.models import Guardian, Student

# Seconds between two refreshes of the states while a child is waiting or on the way out,
# and while the button waits for check-in to open.
POLL_ACTIVE = 5
POLL_BEFORE_OPEN = 60


def clock(moment: dt.datetime, tz) -> str:
    """ "3:12 pm" at the school, the way the family pages write times."""
    return moment.astimezone(tz).strftime("%-I:%M\u00a0%p").lower()


@dataclasses.dataclass
class ChildPickup:
    student: Student
    state: dismissal.StudentState | None
    tz: object

    @property
    def name(self) -> str:
        return self.student.preferred_name or self.student.first_name

    @property
    def status(self) -> str:
        return self.state.status if self.state else "on_campus"

    @property
    def text(self) -> str:
        """The child's state in the guardian's words."""
        state = self.state
        if state is None or state.status == "on_campus":
            return _("At school")
        if state.status == "absent":
            return _("Absent today")
        if state.status == "released":
            event = state.released
            return _("Released to %(name)s at %(time)s") % {
                "name": event.to_label or event.get_to_display(), "time": clock(event.at, self.tz),
            }  # fmt: skip
        if state.status == "sent":
            if state.sent.door:
                return _("On the way to %(door)s") % {"door": state.sent.door}
            return _("On the way to the pickup door")
        return _("Waiting to be called")


@dataclasses.dataclass
class PickupCard:
    """One school's "I'm here" for one guardian, today."""

    guardian: Guardian
    school: object
    day: DismissalDay | None
    children: list[ChildPickup]
    now: dt.datetime

    @property
    def tz(self):
        return self.school.tz

    @property
    def opens_at(self) -> dt.datetime | None:
        return dismissal.checkin_opens(self.day) if self.day else None

    @property
    def emergency(self) -> bool:
        return self.day is not None and self.day.is_emergency

    @property
    def all_clear(self) -> bool:
        """Today's emergency has ended: the card says so, with what families do now."""
        return self.day is not None and self.day.emergency_ended

    @property
    def all_clear_time(self) -> str:
        return clock(self.day.emergency_ended_at, self.tz) if self.all_clear else ""

    @property
    def is_open(self) -> bool:
        return self.day is not None and (self.emergency or self.now >= self.opens_at)

    @property
    def opens_text(self) -> str:
        return _("You can check in from %(time)s.") % {"time": clock(self.opens_at, self.tz)}

    @property
    def to_pick_up(self) -> list[ChildPickup]:
        """Children still at school whom nobody has checked in for yet: what a tap covers."""
        return [c for c in self.children if c.state and c.state.on_campus and not c.state.arrival]

    @property
    def started(self) -> bool:
        """Someone checked in, or a child left: the children's states are worth showing."""
        return any(c.status in ("waiting", "sent", "released") for c in self.children)

    @property
    def mine(self) -> bool:
        """This guardian's own check-in covers a child still waiting or on the way out."""
        return any(
            c.status in ("waiting", "sent")
            and c.state.arrival is not None
            and c.state.arrival.guardian_id == self.guardian.pk
            for c in self.children
        )

    @property
    def visible(self) -> bool:
        """No card on a day without school, or with nobody to pick up (all absent)."""
        if self.day is None:
            return False
        return self.started or bool(self.to_pick_up)

    @property
    def can_check_in(self) -> bool:
        # In an emergency families go to the reunification site with a photo ID instead.
        return bool(self.to_pick_up) and not self.emergency

    @property
    def poll_seconds(self) -> int | None:
        if self.day is None:
            return None
        if any(c.status in ("waiting", "sent") for c in self.children):
            return POLL_ACTIVE
        if self.can_check_in and not self.is_open:
            return POLL_BEFORE_OPEN
        return None

    @property
    def version(self) -> str:
        """What the card shows, in a few characters: a poll that finds the same is answered
        with nothing (204), so screen readers do not read out an unchanged card each time."""
        shown = (
            [(c.student.pk, c.status, c.text) for c in self.children],
            self.can_check_in, self.is_open, self.mine, self.emergency, self.all_clear,
            self.poll_seconds,
        )  # fmt: skip
        return hashlib.blake2s(repr(shown).encode(), digest_size=6).hexdigest()

    @property
    def names(self) -> str:
        return ", ".join(c.name for c in (self.to_pick_up or self.children))


def _children_by_school(guardian: Guardian, school_id=None) -> dict:
    """The guardian's children at school today, by school, without those a custody order in
    effect keeps from this guardian (and whether any were left out that way)."""
    students = (
        Student.objects.filter(guardian_links__guardian=guardian)
        .select_related("school")
        .prefetch_related("custody_restrictions")
        .order_by("first_name", "last_name")
    )
    if school_id is not None:
        students = students.filter(school_id=school_id)
    by_school: dict = {}
    for student in students:
        today = student.school.today()
        if not student.is_active_on(today):
            continue
        school_children, restricted = by_school.setdefault(student.school, ([], []))
        if any(r.names(guardian.full_name) and r.in_effect(today)
               for r in student.custody_restrictions.all()):  # fmt: skip
            restricted.append(student)
        else:
            school_children.append(student)
    return by_school


def _card(guardian, school, students) -> PickupCard:
    day = dismissal.day_of(school) if school.tracker_enabled else None
    states = {}
    if day is not None:
        states = dismissal.day_states(day, student_ids={s.pk for s in students}).students
    children = [ChildPickup(s, states.get(s.pk), school.tz) for s in students]
    return PickupCard(guardian, school, day, children, timezone.now())


def pickup_cards(guardian: Guardian, *, school_id=None) -> list[PickupCard]:
    """The cards to show today on the guardian's pages: one per school that has parent pages
    and children of theirs to pick up, or whose pickup has started."""
    cards = []
    for school, (students, _restricted) in _children_by_school(guardian, school_id).items():
        if not school.parent_access or not students:
            continue
        card = _card(guardian, school, students)
        if card.visible:
            cards.append(card)
    return cards


def pickup_card_or_404(guardian: Guardian, school_id: int) -> PickupCard:
    """The card of a school where the guardian has a child; anywhere else does not exist."""
    found = _children_by_school(guardian, school_id)
    if not found:
        raise Http404(_("No such child on your account."))
    ((school, (students, restricted)),) = found.items()
    if not school.parent_access:
        raise NoParentAccess(school)
    if not students:
        raise NoParentAccess(school, restricted=bool(restricted))
    return _card(guardian, school, students)
