from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    label = "sandbox"
    verbose_name = "Provider sandbox"

    def ready(self) -> None:
        # Installed only with SANDBOX_ENABLED (settings): production code never imports this app, so it
        # plugs itself in here, its deploy check and what it shows on the connect pages.
        from . import checks, connect_pages  # noqa: F401  (checks: registered on import)

        connect_pages.register()
