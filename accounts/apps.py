from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and tenancy"

    def ready(self) -> None:
        from dext_connect import errors

        from . import (
            checks,  # noqa: F401
            throttling,  # noqa: F401  (connects the lockout logger to axes' signal)
        )

        errors.install()
