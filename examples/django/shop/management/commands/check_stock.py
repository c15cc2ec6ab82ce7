"""check_stock [--minimum N]: fails (exit 1, with the reason in the run's
output) when fewer than N orders are waiting: a job that fails."""
from django.core.management.base import BaseCommand, CommandError

import cronwarden_job as cw
from shop.models import Order


class Command(BaseCommand):
    help = "Fail when fewer than MINIMUM orders wait to be processed"

    def add_arguments(self, parser):
        parser.add_argument("--minimum", type=int, default=1)

    def handle(self, minimum, **options):
        waiting = Order.objects.filter(processed_at=None).count()
        when = cw.scheduled_at()
        self.stdout.write(f"{waiting} orders waiting at {when.isoformat() if when else 'now'}")
        if waiting < minimum:
            raise CommandError(f"only {waiting} orders waiting, expected at least {minimum}")
