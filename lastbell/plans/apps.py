from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "lastbell.plans"
    label = "plans"
