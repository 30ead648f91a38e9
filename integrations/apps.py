from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Accounting software"

    def ready(self) -> None:
        from . import checks  # noqa: F401
        from .crypto import require_keys

        # Here, not only in `check --deploy`: production must not start without its own keys.
        require_keys()
