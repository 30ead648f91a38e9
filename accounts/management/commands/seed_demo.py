"""`manage.py seed_demo`: the demo accounts, users, connections and items. Idempotent.

Each installed app of this project contributes its own part in `<app>/demo.py` (`seed(accounts)`), in
INSTALLED_APPS order, which is their dependency order. The sandbox's part (Acme's Xero connection, with
tokens the sandbox issued) is among them only where the sandbox is installed (SANDBOX_ENABLED): this
command does not name it.
"""

from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from types import ModuleType

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django_scopes import scopes_disabled

from accounts import demo


def later_seeders() -> Iterator[ModuleType]:
    """`<app>.demo` of every installed app of this project (not Django's or a library's), after accounts."""
    root = Path(settings.BASE_DIR).resolve()
    for config in apps.get_app_configs():
        if config.name == "accounts" or root not in Path(config.path).resolve().parents:
            continue
        module_name = f"{config.name}.demo"
        try:
            yield import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise


class Command(BaseCommand):
    help = "Create the demo accounts and data (safe to run again: it changes nothing the second time)."

    def handle(self, *args, **options) -> None:
        # Seeding crosses every tenant on purpose: the named escape from the scopes.
        with scopes_disabled():
            accounts = demo.seed()
            for module in later_seeders():
                module.seed(accounts)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in with any of these:"))
        for email, what in demo.DEMO_LOGINS:
            self.stdout.write(f"  {email:<26} {demo.DEMO_PASSWORD}   {what}")
