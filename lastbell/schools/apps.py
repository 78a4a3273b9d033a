from django.apps import AppConfig


class SchoolsConfig(AppConfig):
    name = "lastbell.schools"
    label = "schools"
