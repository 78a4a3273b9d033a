from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "lastbell.ops"
    label = "ops"
