from django.apps import AppConfig


class TruancyConfig(AppConfig):
    name = "lastbell.truancy"
    label = "truancy"
    verbose_name = "Truancy"
