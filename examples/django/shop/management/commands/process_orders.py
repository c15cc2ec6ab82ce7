"""process_orders [--delay SECONDS]: processes every unprocessed order,
one at a time (a long job). Killed, it stops between two orders and exits
3; resumed (`cronwarden resume`), it carries on with the orders left,
since what is done is in the database."""
import time

from django.core.management.base import BaseCommand
from django.utils import timezone

import cronwarden_job as cw
from shop.models import Order


class Command(BaseCommand):
    help = "Process the orders not processed yet"

    def add_arguments(self, parser):
        parser.add_argument("--delay", type=float, default=0.0)

    def handle(self, delay, **options):
        todo = list(Order.objects.filter(processed_at=None).order_by("id").values_list("id", flat=True))
        done_before = Order.objects.exclude(processed_at=None).count()
        total = done_before + len(todo)
        self.stdout.write(f"run {cw.run_id()}: {len(todo)} orders to process, {done_before} done before")
        self.stdout.flush()
        with cw.killable() as stop:
            for n, order_id in enumerate(todo, 1):
                if stop.requested:
                    self.stdout.write(f"stop requested: {n - 1} processed, {len(todo) - n + 1} left")
                    raise SystemExit(3)
                time.sleep(delay)
                Order.objects.filter(id=order_id).update(processed_at=timezone.now(),
                                                         processed_by_run=cw.run_id())
                cw.progress(done_before + n, total)
        self.stdout.write(f"processed {len(todo)} orders")
