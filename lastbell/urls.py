from django.contrib.auth import views as auth_views
from django.urls import include, path

from lastbell.accounts import views as account_views
from lastbell.accounts.views import SignInView
from lastbell.api import views as api_views
from lastbell.api.v1 import api as api_v1
from lastbell.audit import views as audit_views
from lastbell.plans import program_views
from lastbell.plans import views as plan_views
from lastbell.schools import views as school_views

accounts = (
    [
        path("sign-in/", SignInView.as_view(), name="login"),
        path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
        path("me/", account_views.account, name="account"),
        path("me/two-step/remove/", account_views.two_step_remove, name="two_step_remove"),
        # Under /accounts/two-step/: open to a session that still owes its code (signin.py).
        path("two-step/", account_views.two_step_verify, name="two_step_verify"),
        path("two-step/set-up/", account_views.two_step_enrol, name="two_step_enrol"),
        path(
            "district/<int:district_id>/sign-in/",
            account_views.district_sign_in,
            name="district_sign_in",
        ),
        path(
            "district/<int:district_id>/sign-in/<int:user_id>/reset/",
            account_views.two_step_reset,
            name="two_step_reset",
        ),
    ],
    "accounts",
)

schools = (
    [
        path("", school_views.home, name="home"),
        path("schools/", school_views.pick, name="pick"),
        path("district/<int:district_id>/", school_views.district, name="district"),
        path(
            "district/<int:district_id>/schools/<int:school_id>/tracker/",
            school_views.tracker_toggle,
            name="tracker",
        ),
        path("schools/<int:school_id>/settings/", school_views.settings, name="settings"),
        path(
            "schools/<int:school_id>/settings/calendar/",
            school_views.calendar_day_add,
            name="calendar_day_add",
        ),
        path(
            "schools/<int:school_id>/settings/calendar/<int:day_id>/delete/",
            school_views.calendar_day_delete,
            name="calendar_day_delete",
        ),
        path("schools/<int:school_id>/settings/terms/", school_views.term_add, name="term_add"),
        path(
            "schools/<int:school_id>/settings/buses/",
            school_views.bus_route_add,
            name="bus_route_add",
        ),
        path(
            "schools/<int:school_id>/settings/buses/<int:route_id>/toggle/",
            school_views.bus_route_toggle,
            name="bus_route_toggle",
        ),
    ],
    "schools",
)

S = "schools/<int:school_id>/"
plans = (
    [
        path(S, plan_views.dashboard, name="dashboard"),
        path(S + "roster/", plan_views.roster, name="roster"),
        path(S + "students/", plan_views.students, name="students"),
        path(S + "students/<int:student_id>/", plan_views.student, name="student"),
        path(
            S + "students/<int:student_id>/default/", plan_views.default_edit, name="default_edit"
        ),
        path(
            S + "students/<int:student_id>/default/end/", plan_views.default_end, name="default_end"
        ),
        path(
            S + "students/<int:student_id>/changes/new/", plan_views.change_new, name="change_new"
        ),
        path(
            S + "students/<int:student_id>/changes/<int:change_id>/cancel/",
            plan_views.change_cancel,
            name="change_cancel",
        ),
        path(S + "programs/", program_views.program_list, name="programs"),
        path(S + "programs/new/", program_views.program_edit, name="program_new"),
        path(S + "programs/<int:program_id>/", program_views.program_detail, name="program"),
        path(
            S + "programs/<int:program_id>/edit/", program_views.program_edit, name="program_edit"
        ),
        path(
            S + "programs/<int:program_id>/enrollments/<int:enrollment_id>/end/",
            program_views.enrollment_end,
            name="enrollment_end",
        ),
        path(S + "export.csv", plan_views.export, name="export"),
    ],
    "plans",
)

audit = ([path(S + "history/", audit_views.history, name="history")], "audit")

api_tokens = (
    [
        path("", api_views.tokens, name="list"),
        path("<int:token_id>/revoke/", api_views.token_revoke, name="revoke"),
    ],
    "api_tokens",
)

urlpatterns = [
    path("accounts/", include(accounts)),
    # POST /i18n/setlang/ (name "set_language"): the language switcher; see lastbell/i18n.py.
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include(schools)),
    path("", include(plans)),
    path("", include(audit)),
    path(S + "messages/", include("lastbell.messaging.urls")),
    path(S + "students/<int:student_id>/pickup/", include("lastbell.people.urls")),
    path(S + "families/", include("lastbell.family.staff_urls")),
    path(S + "live/", include("lastbell.live.urls")),
    path(S + "bus-feed/", include("lastbell.feeds.urls")),
    path(S + "dismissal/", include("lastbell.dismissal.urls")),
    path("family/", include("lastbell.family.urls")),
    path("api/v1/", api_v1.urls),
    path("", include("lastbell.imports.urls")),
    path("", include("lastbell.attendance.urls")),
    path("", include("lastbell.truancy.urls")),
    path("", include("lastbell.privacy.urls")),
    path("district/<int:district_id>/tokens/", include(api_tokens)),
]
