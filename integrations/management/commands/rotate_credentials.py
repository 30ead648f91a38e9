from django.core.management.base import BaseCommand
from django.db import transaction
from django_scopes import scopes_disabled

from integrations.models import Connection


class Command(BaseCommand):
    help = "Re-encrypt every stored credential with the newest key in FIELD_ENCRYPTION_KEYS."

    def handle(self, *args, **options) -> None:
        count = 0
        # Crosses every tenant on purpose: the named escape from the scopes.
        with scopes_disabled(), transaction.atomic():
            # Reading decrypts with whichever key fits; saving encrypts with the newest (the field does both).
            for conn in Connection.objects.exclude(credentials={}).select_for_update():
                conn.save(update_fields=["credentials"])
                count += 1
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted the credentials of {count} connection(s)."))
