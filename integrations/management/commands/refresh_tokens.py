from django.core.management.base import BaseCommand

from integrations.tokens import refresh_due


class Command(BaseCommand):
    help = (
        "Refresh the access tokens of OAuth connections (every provider whose connect kind is oauth in "
        "integrations/catalog.py) that expire within five minutes, or all of them with --force. The task "
        "worker does this every five minutes by itself (manage.py schedule_tasks); run this to do it now. "
        "A connection whose refresh fails for good is marked 'needs reconnect'."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="Refresh even tokens that are still valid.")

    def handle(self, *args, **options) -> None:
        for done in refresh_due(force=options["force"]):
            if done.problem:
                self.stdout.write(self.style.WARNING(f"{done.name}: {done.problem}"))
            else:
                self.stdout.write(f"{done.name}: token valid until {done.valid_until:%Y-%m-%d %H:%M} UTC")
