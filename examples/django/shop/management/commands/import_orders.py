"""import_orders COUNT [--source NAME]: creates COUNT orders (a job with a
positional and a named param, reporting progress)."""
import random

from django.core.management.base import BaseCommand, CommandError

import cronwarden_job as cw
from shop.models import Order


class Command(BaseCommand):
    help = "Import COUNT new orders from a source"

    def add_arguments(self, parser):
        parser.add_argument("count", type=int)
        parser.add_argument("--source", default="web")

    def handle(self, count, source, **options):
        if count < 0:
            raise CommandError(f"count must not be negative, got {count}")
        rng = random.Random(cw.run_id() or 0)
        for i in range(count):
            Order.objects.create(source=source, amount_cents=rng.randint(100, 10000))
            cw.progress(i + 1, count)
        self.stdout.write(f"imported {count} orders from {source} (run {cw.run_id()})")
