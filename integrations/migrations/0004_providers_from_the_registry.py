import integrations.catalog
from django.db import migrations, models


class Migration(migrations.Migration):
    """The providers come from the registry (integrations/catalog.py): the choices are its callable, and
    the check constraint that listed the five providers goes (the catalog's docstring says why; is_main
    is derived from the registry by Connection.save). The unique constraints stay."""

    dependencies = [
        ('integrations', '0003_oauth_state'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='connection',
            name='connection_is_main_matches_provider',
        ),
        migrations.AlterField(
            model_name='connection',
            name='provider',
            field=models.CharField(choices=integrations.catalog.provider_choices, max_length=20),
        ),
        migrations.AlterField(
            model_name='oauthstate',
            name='provider',
            field=models.CharField(choices=integrations.catalog.provider_choices, max_length=20),
        ),
    ]
