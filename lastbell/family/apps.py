from django.apps import AppConfig


class FamilyConfig(AppConfig):
    name = "lastbell.family"
    label = "family"
    verbose_name = "Family pages"
