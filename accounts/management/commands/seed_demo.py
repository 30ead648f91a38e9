"""`manage.py seed_demo`: the demo accounts, users, connections and items. Idempotent.

Each app contributes its own part in `<app>/demo.py` (`seed(accounts)`), in dependency order.
"""

from importlib import import_module

from django.core.management.base import BaseCommand
from django_scopes import scopes_disabled

from accounts import demo

LATER_SEEDERS = ["integrations.demo", "costs.demo"]


class Command(BaseCommand):
    help = "Create the demo accounts and data (safe to run again: it changes nothing the second time)."

    def handle(self, *args, **options) -> None:
        # Seeding crosses every tenant on purpose: the named escape from the scopes.
        with scopes_disabled():
            accounts = demo.seed()
            for module_name in LATER_SEEDERS:
                try:
                    module = import_module(module_name)
                except ModuleNotFoundError as exc:
                    if exc.name != module_name:
                        raise
                    continue
                module.seed(accounts)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in with any of these:"))
        for email, what in demo.DEMO_LOGINS:
            self.stdout.write(f"  {email:<26} {demo.DEMO_PASSWORD}   {what}")
