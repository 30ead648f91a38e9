from django.core.management.base import BaseCommand

from integrations import schedules


class Command(BaseCommand):
    help = (
        "Start the work the task worker does on a schedule (integrations/schedules.py): renewing OAuth "
        "access tokens every five minutes and reading every connection's lists every night. Run it before "
        "`db_worker` (make run and the docker-compose worker do). Safe to run again, and by several "
        "workers at once: a schedule whose next run is already waiting is left as it is."
    )

    def handle(self, *args, **options) -> None:
        for name, run_after in schedules.start_all().items():
            if run_after is None:
                self.stdout.write(
                    self.style.WARNING(f"{name}: not scheduled (the task backend keeps no queue)")
                )
            else:
                self.stdout.write(f"{name}: next run {run_after:%Y-%m-%d %H:%M %Z}")
