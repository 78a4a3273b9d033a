"""Who may see a family page: a signed-in guardian, for their own children only."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from lastbell.people.models import Guardian, Student
from lastbell.people.services import restriction_naming


class NoParentAccess(Exception):
    """No parent pages for this child: the school does not offer them (its parent-access
    switch is off), or a custody order in effect names this guardian."""

    def __init__(self, school, *, restricted=False):
        self.school = school
        self.restricted = restricted


def guardian_of(request) -> Guardian:
    guardian = Guardian.objects.filter(user=request.user).select_related("district").first()
    if guardian is None:
        raise PermissionDenied(_("This account is not a parent or guardian account."))
    return guardian


def child_or_404(guardian: Guardian, student_id: int) -> Student:
    """One of the guardian's own children; anyone else's child does not exist for them."""
    student = (
        Student.objects.filter(pk=student_id, guardian_links__guardian=guardian)
        .select_related("school", "school__district", "homeroom")
        .first()
    )
    if student is None:
        raise Http404(_("No such child on your account."))
    if not student.school.parent_access:
        raise NoParentAccess(student.school)
    if restriction_naming(student, guardian.full_name) is not None:
        raise NoParentAccess(student.school, restricted=True)
    return student
