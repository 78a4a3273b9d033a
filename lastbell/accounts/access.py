"""Who may see which school: every staff view starts here.

A school outside the user's memberships is a 404, so ids in URLs reveal nothing.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from lastbell.accounts.models import Role, StaffMembership
from lastbell.schools.models import District, School

EDITOR_ROLES = {Role.DISTRICT_ADMIN, Role.SCHOOL_ADMIN, Role.DISMISSAL_STAFF}


@dataclass
class SchoolAccess:
    school: School
    roles: set[str]
    # None: the whole school; otherwise only these homerooms (a teacher's own).
    homeroom_ids: list[int] | None

    @property
    def can_edit(self) -> bool:
        return bool(self.roles & EDITOR_ROLES)

    @property
    def can_administer(self) -> bool:
        """School settings, calendar and bus routes: school admins and district admins."""
        return bool(self.roles & {Role.DISTRICT_ADMIN, Role.SCHOOL_ADMIN})

    def require_admin(self):
        if not self.can_administer:
            raise PermissionDenied(
                "Only the school's administrators can change its settings. "
                "Ask your principal or district office."
            )

    @property
    def is_district_admin(self) -> bool:
        return Role.DISTRICT_ADMIN in self.roles

    def require_edit(self):
        if not self.can_edit:
            raise PermissionDenied(
                "Your account can view this school's plans but not change them. "
                "Ask the front office to make the change."
            )


def memberships(user):
    if not user.is_authenticated:
        return StaffMembership.objects.none()
    return StaffMembership.objects.filter(user=user)


def schools_for(user):
    """Every school the user works at, through a school role or a district admin role."""
    mine = memberships(user)
    return School.objects.filter(
        Q(id__in=mine.exclude(school=None).values("school"))
        | Q(district__in=mine.filter(role=Role.DISTRICT_ADMIN).values("district"))
    ).select_related("district")


def works_at_several_schools(user) -> bool:
    """Whether the user has more than one school to choose from (the pages' school switch).
    Asked on every page: plain queries, the second only for a district admin."""
    held = list(memberships(user).values_list("school_id", "district_id", "role"))
    schools = {school for school, _, _ in held if school}
    districts = {district for _, district, role in held if role == Role.DISTRICT_ADMIN}
    if len(schools) > 1 or not districts:
        return len(schools) > 1
    found = School.objects.filter(Q(district_id__in=districts) | Q(pk__in=schools))
    return found.values("pk")[:2].count() > 1


def districts_administered(user):
    return District.objects.filter(
        id__in=memberships(user).filter(role=Role.DISTRICT_ADMIN).values("district")
    )


def school_access(user, school_id) -> SchoolAccess:
    # Every staff request starts here: plain queries, no subqueries (two, three for a teacher).
    school = School.objects.select_related("district").filter(pk=school_id).first()
    held = [] if school is None else list(
        memberships(user)
        .filter(Q(school=school) | Q(role=Role.DISTRICT_ADMIN, district=school.district_id))
        .values_list("pk", "role")
    )  # fmt: skip
    if not held:
        raise Http404("No such school.")
    roles = {role for _, role in held}
    if roles - {Role.TEACHER}:
        return SchoolAccess(school, roles, None)
    homerooms = StaffMembership.homerooms.through.objects.filter(
        staffmembership_id__in=[pk for pk, _ in held], homeroom__school=school
    ).values_list("homeroom_id", flat=True)
    return SchoolAccess(school, roles, sorted(set(homerooms)))


def request_access(request, school_id) -> SchoolAccess:
    """school_access for the request's user, asked once per request: a dismissal screen's
    live refresh asks before its view does (dismissal/views.py shared_live)."""
    memo = request.__dict__.setdefault("_school_access", {})
    key = (request.user.pk, str(school_id))
    if key not in memo:
        memo[key] = school_access(request.user, school_id)
    return memo[key]


def district_admin_or_404(user, district_id) -> District:
    district = districts_administered(user).filter(pk=district_id).first()
    if district is None:
        raise Http404("No such district.")
    return district
