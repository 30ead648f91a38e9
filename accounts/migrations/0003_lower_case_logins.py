from django.db import migrations
from django.db.models.functions import Lower


def lower_case_logins(apps, schema_editor):
    # Sign-in now matches the stored e-mail exactly (accounts.models.normalize_login): store every
    # login in lower case. The case-insensitive unique constraint means no two can collide.
    User = apps.get_model("accounts", "User")
    User.objects.exclude(email=Lower("email")).update(email=Lower("email"))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_invitation")]

    operations = [migrations.RunPython(lower_case_logins, migrations.RunPython.noop)]
