"""Forms of Business settings > Connections."""

from __future__ import annotations

from django import forms

from .models import Connection

# The same words services.set_defaults uses when it refuses an id.
CHOOSE_CONNECTED = "Choose one of the connected integrations of this account."


class DefaultsForm(forms.Form):
    """The two dropdowns. Choices are the account's live connections only, so an id of another
    account or of a disconnected connection is an invalid choice here (and refused again by
    services.set_defaults, which is the rule)."""

    publishing = forms.TypedChoiceField(
        label="Default publishing integration",
        coerce=int,
        help_text="Applies to all items except expense claims.",
        error_messages={"invalid_choice": CHOOSE_CONNECTED},
    )
    expense_claims = forms.TypedChoiceField(
        label="Default expense claims integration",
        coerce=int,
        help_text="Applies only to expense claims.",
        error_messages={"invalid_choice": CHOOSE_CONNECTED},
    )

    def __init__(self, *args, connections: list[Connection], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [(c.pk, self._choice_label(c)) for c in connections]
        for field in self.fields.values():
            field.choices = choices
            # The preview swaps its result in next to the dropdowns as soon as one changes.
            field.widget.attrs["aria-describedby"] = "defaults-preview"

    @staticmethod
    def _choice_label(connection: Connection) -> str:
        return f"{connection.label} (main)" if connection.is_main else connection.label

    def chosen_ids(self) -> tuple[int, int]:
        return self.cleaned_data["publishing"], self.cleaned_data["expense_claims"]
