from django.urls import path

from lastbell.people import views

# Included under schools/<int:school_id>/students/<int:student_id>/pickup/.
app_name = "people"
urlpatterns = [
    path("", views.pickup, name="pickup"),
    path("adults/", views.adult_add, name="adult_add"),
    path("adults/<int:adult_id>/remove/", views.adult_remove, name="adult_remove"),
    path("adults/<int:adult_id>/verify/", views.adult_verify, name="adult_verify"),
    path("adults/<int:adult_id>/photo/", views.adult_photo, name="adult_photo"),
    path("restrictions/", views.restriction_add, name="restriction_add"),
    path("restrictions/<int:restriction_id>/end/", views.restriction_end, name="restriction_end"),
    path(
        "restrictions/<int:restriction_id>/court-order/",
        views.court_order,
        name="court_order",
    ),
]
