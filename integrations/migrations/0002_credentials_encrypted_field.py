# The column already holds Fernet tokens of JSON ("" for none), exactly what EncryptedJSONField reads
# and writes: no data changes, the column stays text.

import integrations.crypto
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='connection',
            name='credentials',
            field=integrations.crypto.EncryptedJSONField(blank=True, default=dict),
        ),
    ]
