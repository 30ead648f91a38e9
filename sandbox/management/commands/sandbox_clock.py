"""Speed up, move on or reset the sandbox's clock (sandbox/clock.py), for the benchmark and demos:
`manage.py sandbox_clock --speed 10` (a sandbox minute lasts 6 real seconds, so Xero's 60 calls a
minute become 600), `--advance 420` (seconds: Xero has forgotten the Idempotency-Keys of 7 minutes
ago), `--reset` (real time)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from sandbox import clock


class Command(BaseCommand):
    help = "Speed up, move on or reset the sandbox's clock."

    def add_arguments(self, parser):
        parser.add_argument("--speed", type=float, help="sandbox seconds per real second")
        parser.add_argument("--advance", type=float, help="move sandbox time on by this many seconds")
        parser.add_argument("--reset", action="store_true", help="back to real time")

    def handle(self, *args, speed=None, advance=None, reset=False, **options):
        if reset:
            clock.reset()
        if speed is not None:
            if speed <= 0:
                raise CommandError("--speed must be positive.")
            clock.set_speed(speed)
        if advance is not None:
            clock.advance(timedelta(seconds=advance))
        self.stdout.write(f"Sandbox time: {clock.now().isoformat()} (×{clock.speed()})")
