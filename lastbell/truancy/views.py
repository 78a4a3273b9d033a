"""The truancy tracker pages (who is due for which letter) and the policy settings.

Staff who run a school's office (school admins, dismissal/front-office staff) and district
admins see the tracker of their schools; teachers and guardians do not. The district-wide
tracker and the district's policy are for district admins; a school's own policy for its
admins.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from lastbell.accounts.access import district_admin_or_404
from lastbell.plans.views import SchoolPage, apply_errors, form_invalid
from lastbell.truancy import services, tracker
from lastbell.truancy.forms import PolicyForm
from lastbell.truancy.letter_views import Scope
from lastbell.truancy.models import TruancyPolicy

ROWS_PER_PAGE = 50


def _level(request, policy: TruancyPolicy) -> int:
    """The letter level asked for (?level=), within the policy's; the first by default."""
    raw = request.GET.get("level", "")
    level = int(raw) if raw.isdigit() else 1
    if not 1 <= level <= policy.level_count:
        if raw:
            messages.error(request, f"This policy has no letter {raw}; showing letter 1.")
        level = 1
    return level


def _page(request, rows, on):
    page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    tracker.attach_dates(list(page.object_list), on=on)
    return page


def _tracker_context(request, policy, level, rows, on):
    start, end = policy.window(on)
    return {
        "policy": policy, "level": level, "levels": list(enumerate(policy.levels, start=1)),
        "level_name": policy.level_name(level), "threshold": policy.threshold(level),
        "rows_page": _page(request, rows, on), "total": len(rows), "on": on,
        "year_not_started": on < policy.year_starts_on, "year_over": on > policy.year_ends_on,
        "window": (start, end),
    }  # fmt: skip


@login_required
def school_due(request, school_id):
    page = SchoolPage(request, school_id)
    if not page.access.can_edit:
        raise PermissionDenied(
            "Truancy is for the school office and administrators. Ask the front office."
        )
    on = page.today
    policy = tracker.policy_for(page.school, on)
    level = _level(request, policy)
    rows = tracker.due(district=page.school.district, school=page.school, level=level, on=on,
                       with_dates=False)  # fmt: skip
    scope = Scope(request, page.school.district, page.school, page)
    context = page.context("truancy", scope=scope, section="due",
                           **_tracker_context(request, policy, level, rows, on))  # fmt: skip
    return render(request, "truancy/due.html", context)


@login_required
def district_due(request, district_id):
    district = district_admin_or_404(request.user, district_id)
    on = tracker.district_today(district)
    # The district's levels name the choices; each school counts by its own policy.
    policy = _district_policy(district, on)
    level = _level(request, policy)
    rows = tracker.due(district=district, level=level, on=on, with_dates=False)
    context = {"district": district, "scope": Scope(request, district), "section": "due",
               **_tracker_context(request, policy, level, rows, on)}  # fmt: skip
    return render(request, "truancy/district_due.html", context)


def _district_policy(district, on) -> TruancyPolicy:
    saved = TruancyPolicy.objects.filter(district=district, school__isnull=True).first()
    return saved or TruancyPolicy.california(district, on)


def _save(request, form, *, district, school=None) -> bool:
    if not form.is_valid():
        return False
    try:
        services.policy_save(district=district, school=school, values=form.values(),
                             actor=request.user)  # fmt: skip
    except ValidationError as exc:
        apply_errors(exc, form)
        return False
    return True


@login_required
@require_http_methods(["GET", "POST"])
def district_policy(request, district_id):
    district = district_admin_or_404(request.user, district_id)
    policy = _district_policy(district, tracker.district_today(district))
    form = PolicyForm(request.POST or None, policy=policy)
    if request.method == "POST":
        if _save(request, form, district=district):
            messages.success(request, f"Saved the truancy policy of {district.name}.")
            return redirect("truancy:district_policy", district.id)
        form_invalid(request)
    return render(
        request, "truancy/district_policy.html",
        {"district": district, "policy": policy, "form": form,
         "overrides": district.schools.filter(truancy_policy__isnull=False).order_by("name")},
        status=400 if request.method == "POST" else 200,
    )  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def school_policy(request, school_id):
    page = SchoolPage(request, school_id, tracker_required=False)
    page.access.require_admin()
    school = page.school
    own = TruancyPolicy.objects.filter(school=school).first()
    policy = own or tracker.policy_for(school, page.today)
    if request.method == "POST" and request.POST.get("action") == "remove":
        if services.policy_remove(school=school, actor=request.user):
            messages.success(request, f"{school.name} follows the district's truancy policy again.")
        return redirect("truancy:school_policy", school.id)
    form = PolicyForm(request.POST or None, policy=policy)
    if request.method == "POST":
        if _save(request, form, district=school.district, school=school):
            messages.success(request, f"Saved {school.name}'s own truancy policy.")
            return redirect("truancy:school_policy", school.id)
        form_invalid(request)
    return render(
        request, "truancy/school_policy.html",
        page.context("truancy", policy=policy, own=own, form=form),
        status=400 if request.method == "POST" else 200,
    )  # fmt: skip
