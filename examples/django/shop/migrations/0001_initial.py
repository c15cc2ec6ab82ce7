from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False,
                                        verbose_name="ID")),
                ("source", models.CharField(max_length=40)),
                ("amount_cents", models.IntegerField()),
                ("processed_at", models.DateTimeField(null=True)),
                ("processed_by_run", models.BigIntegerField(null=True)),
            ],
        ),
    ]
