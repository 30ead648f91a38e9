"""Items in, in real Chromium (issue 11): Acme's Admin uploads two files from the Costs inbox (a PDF
invoice with a text layer and a receipt's photo), watches each one's answer, opens the invoice's item,
sees its document beside the fields, confirms the values read from it ("Use these values": the supplier
rule then fills the category and payment method), marks it Ready, and sees it routed by the default
publishing integration."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from costs import samples
from costs.models import Item, Supplier, SupplierRule
from integrations.models import IntegrationDefaults
from tests.browser.fixtures import sign_in
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def billcom_is_the_default(demo_data):
    """Bill.com connected beside Acme's Xero and made the Default publishing integration; Northwind
    Traders has a rule that fills Category and Payment method (and leaves the Integration to the
    defaults)."""
    with scopes_disabled():
        supplier = Supplier.objects.get(account__slug="acme", name="Northwind Traders")
        account = supplier.account
        billcom = ConnectionFactory(account=account, provider="billcom", is_main=False)
        IntegrationDefaults.objects.update_or_create(account=account, defaults={"publishing": billcom})
        SupplierRule.objects.update_or_create(
            account=account,
            supplier=supplier,
            defaults={"category": "Cost of Goods Sold", "payment_method": "bank_transfer"},
        )


def test_upload_two_files_review_one_and_mark_it_ready(page, billcom_is_the_default):
    sign_in(page, "admin@acme.test")
    page.goto("/a/acme/costs/")
    page.get_by_role("link", name="Upload").click()
    expect(page.get_by_role("heading", name="Upload receipts and bills")).to_be_visible()
    page.get_by_role("radio", name="Bill / invoice").check()
    invoice = samples.invoice_pdf(
        supplier="Northwind Traders", reference="NW-501", date="14/11/2026", total="240.00", tax="40.00"
    )
    page.get_by_label("Drop files here, or choose files").set_input_files(
        [
            {"name": "northwind-NW-501.pdf", "mimeType": "application/pdf", "buffer": invoice},
            {"name": "receipt.jpg", "mimeType": "image/jpeg", "buffer": samples.image("JPEG")},
        ]
    )
    expect(page.get_by_role("status")).to_have_text("2 of 2 files uploaded.")
    rows = page.locator(".upload-row")
    expect(rows.filter(has_text="northwind-NW-501.pdf")).to_contain_text("Uploaded. Added to To review")
    expect(rows.filter(has_text="receipt.jpg")).to_contain_text("Uploaded.")
    with scopes_disabled():
        new = Item.objects.filter(account__slug="acme", document__isnull=False, status="to_review")
        assert new.filter(document__original_name__in=["northwind-NW-501.pdf", "receipt.jpg"]).count() == 2

    # The invoice's item: its document beside the fields, the values read from it offered.
    rows.filter(has_text="northwind-NW-501.pdf").get_by_role("link", name="Open it").click()
    image = page.get_by_role("img", name="Page 1 of northwind-NW-501.pdf")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.querySelector('[data-viewer-image]').naturalWidth > 0")
    page.get_by_role("button", name="Rotate 90° clockwise").click()
    expect(page.locator("[data-viewer]")).to_have_attribute("data-rotation", "90")
    page.get_by_role("button", name="Zoom in").click()
    expect(page.locator("[data-viewer-zoom]")).to_have_text("125%")
    offered = page.get_by_role("region", name="Read from the document")
    expect(offered).to_contain_text("Northwind Traders")
    expect(offered).to_contain_text("14 Nov 2026")
    expect(offered).to_contain_text("£240.00")
    expect(offered).to_contain_text("£40.00")
    offered.get_by_role("button", name="Use these values").click()
    expect(page.get_by_role("status")).to_contain_text("Used the values read from the document.")
    expect(page.get_by_role("combobox", name="Supplier")).to_have_value("Northwind Traders")

    page.get_by_role("button", name="Mark as Ready").click()
    expect(page.get_by_role("status")).to_contain_text("is Ready to publish")
    expect(page.locator("[data-route]")).to_contain_text("Publishes to Bill.com")
    expect(page.locator("[data-route]")).to_contain_text("Default publishing integration")
    expect(page.locator("[data-status]").first).to_have_text("Ready")
    with scopes_disabled():
        item = Item.objects.get(account__slug="acme", document__original_name="northwind-NW-501.pdf")
        assert (item.status, item.supplier.name, str(item.total), str(item.tax)) == (
            "ready",
            "Northwind Traders",
            "240.00",
            "40.00",
        )
        assert (item.category, item.payment_method, item.integration_id) == (
            "Cost of Goods Sold",
            "bank_transfer",
            None,
        )
