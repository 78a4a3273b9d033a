from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "lastbell.api"
    label = "api"
    verbose_name = "API"
