from django.urls import path

from lastbell.truancy import letter_views, template_views, views

S = "schools/<int:school_id>/truancy/"
D = "district/<int:district_id>/truancy/"


def both(route: str, view: str, name: str) -> list:
    """The same page for a school (its office) and for the district (district admins)."""
    return [
        path(S + route, getattr(letter_views, f"school_{view}"), name=f"school_{name}"),
        path(D + route, getattr(letter_views, f"district_{view}"), name=f"district_{name}"),
    ]


app_name = "truancy"
urlpatterns = [
    path(S, views.school_due, name="school"),
    path(S + "policy/", views.school_policy, name="school_policy"),
    path(D, views.district_due, name="district"),
    path(D + "policy/", views.district_policy, name="district_policy"),
    *both("issue/", "issue", "issue"),
    *both("runs/", "batches", "batches"),
    *both("runs/<int:batch_id>/", "batch", "batch"),
    *both("runs/<int:batch_id>/letters.pdf", "batch_pdf", "batch_pdf"),
    *both("runs/<int:batch_id>/retry/", "batch_retry", "batch_retry"),
    *both("letters/", "letters", "letters"),
    *both("letters.csv", "letters_csv", "letters_csv"),
    *both("review/", "review", "review"),
    *both("follow-up/", "followup", "followup"),
    *both("chronic/", "chronic", "chronic"),
    path(S + "letters/<int:letter_id>/", letter_views.letter, name="school_letter"),
    path(S + "letters/<int:letter_id>/void/", letter_views.letter_void, name="school_letter_void"),
    path(S + "letters/<int:letter_id>/keep/", letter_views.letter_keep, name="school_letter_keep"),
    path(
        S + "letters/<int:letter_id>/conference/",
        letter_views.letter_conference,
        name="school_letter_conference",
    ),
    path(
        S + "letters/<int:letter_id>/referral/",
        letter_views.letter_referral,
        name="school_letter_referral",
    ),
    path(D + "templates/", template_views.templates, name="district_templates"),
    path(
        D + "templates/<int:level>/<str:language>/",
        template_views.template_edit,
        name="district_template",
    ),
]
