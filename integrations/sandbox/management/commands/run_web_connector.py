from django.core.management.base import BaseCommand, CommandError

from integrations.sandbox import webconnector


class Command(BaseCommand):
    help = "Run the sandbox's QuickBooks Web Connector once against our /qbwc/ SOAP service (over HTTP)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", required=True, help="UserName from the .qwc file")
        parser.add_argument("--password", required=True, help="The password shown on the set-up page")
        parser.add_argument("--url", default="", help="AppURL (default: SITE_URL + /qbwc/)")
        parser.add_argument(
            "--account-name", default="", help='Names the pretend company file ("<name> company file")'
        )

    def handle(self, *args, **options) -> None:
        result = webconnector.run(
            app_url=options["url"] or webconnector.our_app_url(),
            username=options["username"],
            password=options["password"],
            account_name=options["account_name"],
        )
        for call in result.calls:
            self.stdout.write(f"  {call.method:<20} {call.result[:100]}")
        if not result.ok:
            raise CommandError(result.message)
        self.stdout.write(self.style.SUCCESS(result.message))
