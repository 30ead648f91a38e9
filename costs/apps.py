from django.apps import AppConfig


class CostsConfig(AppConfig):
    name = "costs"
    verbose_name = "Costs and sales"

    def ready(self) -> None:
        from integrations.lists import lists_read

        from .linking import on_lists_read

        # After each successful read of a connection's lists: link suppliers, match old free text.
        lists_read.connect(on_lists_read, dispatch_uid="costs.linking.on_lists_read")
