from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "lastbell.demo"
    label = "demo"
