from django.core.management.base import BaseCommand
from django_scopes import scopes_disabled

from accounts.errors import DomainError
from integrations import catalog
from integrations.models import Connection, ConnectionStatus
from integrations.services import credentials_of
from integrations.tokens import access_token_for


class Command(BaseCommand):
    help = (
        "Refresh the access tokens of OAuth connections (every provider whose connect kind is oauth in "
        "integrations/catalog.py) that expire within five minutes, or all of them with --force. Run it "
        "from a scheduler to keep refresh tokens in use and to find revoked access early: a connection "
        "whose refresh fails for good is marked 'needs reconnect'."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="Refresh even tokens that are still valid.")

    def handle(self, *args, **options) -> None:
        # Crosses every tenant on purpose (a maintenance job): the named escape from the scopes.
        with scopes_disabled():
            connections = list(
                Connection.objects.select_related("account").filter(
                    provider__in=catalog.oauth_keys(), status=ConnectionStatus.ACTIVE
                )
            )
        for connection in connections:
            name = f"{connection.account.name}: {connection.label}"
            try:
                rejected = credentials_of(connection).get("access_token") if options["force"] else None
                access_token_for(connection, rejected_token=rejected)
            except DomainError as exc:
                self.stdout.write(self.style.WARNING(f"{name}: {exc.message}"))
            else:
                self.stdout.write(
                    f"{name}: token valid until {connection.access_expires_at:%Y-%m-%d %H:%M} UTC"
                )
