from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Accounting software"

    def ready(self) -> None:
        from . import checks  # noqa: F401
