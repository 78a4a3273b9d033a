from django.urls import path

from lastbell.messaging import views

# Included under schools/<int:school_id>/messages/.
app_name = "messaging"
urlpatterns = [
    path("", views.message_list, name="list"),
    path("<int:message_id>/", views.message_detail, name="detail"),
    path("<int:message_id>/retry/", views.message_retry, name="retry"),
]
