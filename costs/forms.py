"""Forms for items and supplier rules. Choices are built per request from the account's own data;
the services re-check every choice (a forged POST never gets further than a form error or a
DomainError)."""

from __future__ import annotations

from django import forms

from accounts.errors import DomainError
from accounts.models import Account
from integrations.models import Connection

from .ids import parse_id
from .models import COST_TYPES, SALES_TYPES, Item, PaymentMethod, SupplierRule
from .selectors import members, suppliers
from .services import CHOOSE_CONNECTED, ITEM_FIELDS, SET_ONE_VALUE, USE_RULE_OR_DEFAULT, already_has_a_rule

USE_RULE = ""  # the "Use rule/default" option


def integration_choices(connections: list[Connection], *, with_default: bool = True) -> list[tuple[str, str]]:
    choices = [(USE_RULE, USE_RULE_OR_DEFAULT)] if with_default else []
    return choices + [(str(c.pk), c.label) for c in connections]


def parse_integration_choice(value: str | None) -> int | None:
    """The Integration field of the item page, the sales item page, the bulk action and the rule form:
    "" (or absent) is "Use rule/default" (None); anything else must be a well-formed connection id,
    which the service then checks against the account. Garbage is refused, never read as "" ."""
    if value is None or value == USE_RULE:
        return None
    connection_id = parse_id(value)
    if connection_id is None:
        raise DomainError(CHOOSE_CONNECTED, code="unknown")
    return connection_id


class ItemForm(forms.ModelForm):
    # A free choice field: the service decides whether the id is acceptable and says why not.
    integration = forms.CharField(required=False, label="Integration")
    # Supplier, Category and Tax rate are chosen with the type-ahead (templates/costs/_choose.html)
    # from the lists of the software the item publishes to: the posted value is an id (or
    # lists.KEEP / "entry:<id>"), which the service checks (costs/lists.py). The view reads them from
    # the POST itself: a field absent from the POST leaves the item's value as it is.
    supplier = forms.CharField(required=False, label="Supplier")
    category_entry = forms.CharField(required=False, label="Category")
    tax_rate_entry = forms.CharField(required=False, label="Tax rate")
    # Declared here, not generated from the model: a generated choice field would query the scoped
    # managers at import time. Its queryset is this account's, set per request below.
    owner = forms.ModelChoiceField(queryset=None, required=False)

    class Meta:
        model = Item
        # The fields the service writes, less the one declared above (one list: services.ITEM_FIELDS).
        fields = [f for f in ITEM_FIELDS if f != "owner"]
        widgets = {
            "date": forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
            "due_date": forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, account: Account, sales: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("owner", self.instance.owner_id)
        types = SALES_TYPES if sales else COST_TYPES
        self.fields["type"].choices = [(t.value, t.label) for t in types]
        self.fields["supplier"].label = "Customer" if sales else "Supplier"
        self.fields["owner"].queryset = members(account)
        self.fields["owner"].label_from_instance = lambda user: user.email
        self.fields["payment_method"].choices = PaymentMethod.choices
        self.fields["paid"].label = "Paid"
        # Keep the page's field order as PRODUCT.md lists it.
        self.order_fields(
            ["type", "date", "due_date", "supplier", "reference", "category_entry", "tax_rate_entry", "tax"]
        )


class RuleForm(forms.Form):
    # Chosen with the type-ahead (templates/costs/_choose.html): the page never lists every supplier.
    supplier = forms.ModelChoiceField(queryset=None, empty_label=None)
    # Ids of entries of the lists of the software the rule's items publish to (costs/lists.py); the view
    # and the service check them.
    category_entry = forms.CharField(required=False, label="Category")
    tax_rate_entry = forms.CharField(required=False, label="Tax rate")
    payment_method = forms.ChoiceField(choices=PaymentMethod.choices, required=False, label="Payment method")
    integration = forms.CharField(required=False, label="Integration")

    def __init__(self, *args, account: Account, rule: SupplierRule | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rule = rule
        field = self.fields["supplier"]
        field.queryset = suppliers(account, sales=False)
        # A supplier id that is not this account's fails here, with the field's error.
        field.error_messages["invalid_choice"] = "That supplier is not one of this account's suppliers."
        # A new rule is offered only for suppliers without one (the type-ahead searches those: a
        # supplier has at most one rule; changing it goes through its edit page). A stale or forged
        # choice is refused in clean_supplier, and the service refuses it again under a lock.
        if rule is not None:
            field.disabled = True

    def clean_supplier(self):
        supplier = self.cleaned_data["supplier"]
        if self.rule is None and SupplierRule.objects.filter(supplier=supplier).exists():
            raise forms.ValidationError(already_has_a_rule(supplier))
        return supplier

    def clean(self):
        data = super().clean()
        if not any(
            data.get(name) for name in ("category_entry", "tax_rate_entry", "payment_method", "integration")
        ):
            raise forms.ValidationError(SET_ONE_VALUE)
        return data
