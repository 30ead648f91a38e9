from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sandbox import webconnector


class Command(BaseCommand):
    help = (
        "Run the sandbox's QuickBooks Web Connector once against our /qbwc/ SOAP service (over HTTP), "
        "with a pretend company file open."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", required=True, help="UserName from the .qwc file")
        parser.add_argument("--password", required=True, help="The password shown on the set-up page")
        parser.add_argument("--url", default="", help="AppURL (default: the .qwc's, else SITE_URL + /qbwc/)")
        parser.add_argument(
            "--qwc",
            default="",
            help="The .qwc file (default: the one the set-up page offers for the user name)",
        )
        parser.add_argument(
            "--account-name", default="", help='Names the pretend company file ("<name> company file")'
        )
        parser.add_argument(
            "--open-company-file",
            default="",
            help="Name of another pretend company file to have open in QuickBooks instead (the .qwc was "
            "added with the account's own one open)",
        )

    def handle(self, *args, **options) -> None:
        qwc = (
            webconnector.Qwc.from_xml(Path(options["qwc"]).read_bytes())
            if options["qwc"]
            else webconnector.qwc_of(options["username"])
        )
        computer = webconnector.Computer.with_company(options["account_name"])
        computer.add_application(qwc)
        if options["open_company_file"]:
            computer.open(computer.add_file(webconnector.company_name_for(options["open_company_file"])).path)
        result = webconnector.run(
            app_url=options["url"] or None,
            username=options["username"],
            password=options["password"],
            qwc=qwc,
            computer=computer,
        )
        for call in result.calls:
            self.stdout.write(f"  {call.method:<20} {call.result[:100]}")
        if not result.ok:
            raise CommandError(result.message)
        self.stdout.write(self.style.SUCCESS(result.message))
