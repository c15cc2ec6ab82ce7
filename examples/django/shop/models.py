"""The example shop's one table: orders, imported in batches and then
processed one by one by a long job that can be killed and resumed."""
from django.db import models


class Order(models.Model):
    source = models.CharField(max_length=40)
    amount_cents = models.IntegerField()
    processed_at = models.DateTimeField(null=True)
    # The cronwarden run that processed it (cronwarden_job.run_id()).
    processed_by_run = models.BigIntegerField(null=True)
