"""Items in (issue 11): uploads of real files made here, what is refused and why (nothing half-made), the
scoped document views and their headers, the pre-fill read from a PDF's text layer, thumbnails."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scopes_disabled
from PIL import Image

from costs import documents, samples
from costs.models import Document, Item, ItemStatus
from costs.routing import effective_integration, load_facts
from costs.tasks import make_thumbnail
from tests.conftest import client_for
from tests.factories import (
    ConnectionFactory,
    ItemFactory,
    SupplierEntryFactory,
    SupplierFactory,
    SupplierRuleFactory,
)

pytestmark = pytest.mark.django_db

INVOICE = samples.invoice_pdf(
    supplier="Northwind Traders Ltd", reference="INV-77", date="12/11/2026", total="120.00", tax="20.00"
)


def upload_url(account, sales: bool = False) -> str:
    return f"/a/{account.slug}/{'sales' if sales else 'costs'}/upload/"


def post_one(
    client, account, data: bytes, name: str, *, kind: str = "bill", sales=False, filename=None, batch=1
):
    """As upload.js sends it: one file per request, with the name as chosen and the batch's size."""
    return client.post(
        upload_url(account, sales),
        {
            "type": kind,
            "batch": str(batch),
            "filename": filename if filename is not None else name,
            "files": SimpleUploadedFile(name, data, content_type="application/pdf"),
        },
        headers={"X-Requested-With": "XMLHttpRequest"},
    )


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()]


def all_documents():
    with scopes_disabled():
        return list(Document.objects.select_related("item"))


def nothing_made():
    with scopes_disabled():
        return Item.objects.count(), Document.objects.count(), stored_files()


# --- uploads that work --------------------------------------------------------------------------------


def test_a_pdf_and_a_jpeg_become_two_items_to_review_owned_by_the_uploader(tenant, other_tenant):
    client = client_for(tenant.staff)
    first = post_one(client, tenant.account, INVOICE, "invoice.pdf").json()
    second = post_one(client, tenant.account, samples.image("JPEG"), "receipt.jpg", kind="receipt").json()
    assert first["ok"] and second["ok"], (first, second)
    docs = sorted(all_documents(), key=lambda d: d.pk)
    assert [(d.content_type, d.pages, d.original_name) for d in docs] == [
        ("application/pdf", 1, "invoice.pdf"),
        ("image/jpeg", 1, "receipt.jpg"),
    ]
    for doc, kind in zip(docs, ("bill", "receipt"), strict=True):
        item = doc.item
        assert (item.account, item.status, item.type, item.owner, item.date) == (
            tenant.account,
            ItemStatus.TO_REVIEW,
            kind,
            tenant.staff,
            date.today(),
        )
        assert item.integration_id is None  # "Use rule/default"
        # Stored under a generated name in the account's folder, with the extension of its content.
        assert doc.file.name.startswith(f"documents/{tenant.account.pk}/")
        assert "invoice" not in doc.file.name and "receipt" not in doc.file.name
        assert (Path(settings.MEDIA_ROOT) / doc.file.name).read_bytes()[:4] in (b"%PDF", b"\xff\xd8\xff\xe0")
    assert first["url"] == f"/a/{tenant.account.slug}/costs/{docs[0].item.pk}/"
    # The PDF's text was read; the picture's was not (no OCR).
    assert "Northwind Traders Ltd" in docs[0].text and docs[1].text == ""
    with scopes_disabled():
        assert not Item.objects.filter(account=other_tenant.account).exists()


def test_the_form_without_the_script_uploads_several_files_in_one_request(tenant):
    response = client_for(tenant.admin).post(
        upload_url(tenant.account),
        {
            "type": "receipt",
            "files": [
                SimpleUploadedFile("a.png", samples.image("PNG")),
                SimpleUploadedFile("b.pdf", INVOICE),
                SimpleUploadedFile("c.pdf", b"<html><script>alert(1)</script></html>"),
            ],
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "2 of 3 files uploaded" in body
    assert "c.pdf is not a PDF, JPEG, PNG or HEIC file: it is an HTML page" in body
    assert sorted(d.original_name for d in all_documents()) == ["a.png", "b.pdf"]


def test_a_new_item_routes_by_the_default_and_its_page_says_why(tenant):
    account = tenant.account
    ConnectionFactory(account=account, provider="xero")
    billcom = ConnectionFactory(account=account, provider="billcom", is_main=False)
    from integrations.models import IntegrationDefaults

    IntegrationDefaults.objects.create(account=account, publishing=billcom)
    client = client_for(tenant.admin)
    result = post_one(client, account, INVOICE, "invoice.pdf").json()
    page = client.get(result["url"]).content.decode()
    assert "Default publishing integration" in page and "Bill.com" in page
    with scopes_disabled():
        item = Item.objects.get()
        assert effective_integration(item, load_facts(account)).connection == billcom


def test_a_sales_invoice_is_uploaded_on_the_sales_side_only(tenant):
    client = client_for(tenant.admin)
    assert post_one(client, tenant.account, INVOICE, "s.pdf", kind="sales_invoice", sales=True).json()["ok"]
    refused = post_one(client, tenant.account, INVOICE, "s.pdf", kind="sales_invoice").json()
    assert not refused["ok"] and "Choose what the file is" in refused["message"]
    refused = post_one(client, tenant.account, INVOICE, "s.pdf", kind="bill", sales=True).json()
    assert not refused["ok"]
    with scopes_disabled():
        assert list(Item.objects.values_list("type", flat=True)) == ["sales_invoice"]


# --- what is refused, and nothing half-made -----------------------------------------------------------


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid, tiny PNG that claims width × height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit greyscale
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(200)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("invoice.pdf", b"\x00" * 5_000_000)
    return buffer.getvalue()


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>x</script></svg>'
)
REFUSALS = [
    ("page.pdf", b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script>", "it is an HTML page"),
    ("vector.pdf", SVG, "it is an SVG image"),
    ("archive.pdf", zip_bomb(), "it is a ZIP archive"),
    # Pillow's own guard (DecompressionBombError), then ours, both before any pixel is decoded.
    ("bomb.png", png_bomb(), "bomb.png is too large an image"),
    ("big.png", png_bomb(8_000, 8_000), "too large an image (8,000 × 8,000 pixels)"),
    ("empty.pdf", b"", "empty.pdf is empty"),
    ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ntrailer garbage", "a damaged or empty PDF"),
    ("pages.pdf", samples.pdf_with_text([]), "pages.pdf is a damaged or empty PDF"),
    ("cut.jpg", samples.image("JPEG")[:600], "a damaged image"),
    ("note.txt", b"just some text", "its content is not one of those types"),
]


@pytest.mark.parametrize(("name", "data", "why"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_bad_files_are_refused_with_the_reason_and_nothing_is_made(tenant, name, data, why):
    result = post_one(client_for(tenant.admin), tenant.account, data, name).json()
    assert result["ok"] is False
    assert why in result["message"]
    assert nothing_made() == (0, 0, [])


def test_an_over_size_file_is_refused(tenant, monkeypatch):
    monkeypatch.setattr(documents, "MAX_BYTES", 1_048_576)
    big = INVOICE + b"%" + b"x" * 1_300_000
    result = post_one(client_for(tenant.admin), tenant.account, big, "big.pdf").json()
    assert not result["ok"]
    assert result["message"] == "big.pdf is 1.2 MB: files may be up to 1 MB."
    assert nothing_made() == (0, 0, [])


def test_too_many_pages_is_refused(tenant, monkeypatch):
    monkeypatch.setattr(documents, "MAX_PDF_PAGES", 3)
    long = samples.pdf_with_text([["page"]] * 4)
    result = post_one(client_for(tenant.admin), tenant.account, long, "long.pdf").json()
    assert not result["ok"] and "has 4 pages: a document may have up to 3" in result["message"]
    assert nothing_made() == (0, 0, [])


def test_a_name_with_a_folder_is_refused(tenant):
    result = post_one(
        client_for(tenant.admin), tenant.account, INVOICE, "passwd.pdf", filename="../../etc/passwd.pdf"
    ).json()
    assert not result["ok"] and "names a folder" in result["message"]
    assert nothing_made() == (0, 0, [])


def test_more_than_fifty_files_at_once_are_refused(tenant):
    client = client_for(tenant.admin)
    result = post_one(client, tenant.account, INVOICE, "a.pdf", batch=51).json()
    assert not result["ok"] and "51 files were chosen: upload up to 50 at once" in result["message"]
    files = [SimpleUploadedFile(f"{n}.png", samples.image("PNG", size=(60, 60))) for n in range(51)]
    response = client.post(upload_url(tenant.account), {"type": "receipt", "files": files})
    assert "51 files were chosen: upload up to 50 at once. Nothing was uploaded" in response.content.decode()
    assert nothing_made() == (0, 0, [])


def test_a_storage_failure_after_the_file_was_written_leaves_no_file(tenant, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("costs.documents.record", fail)
    with pytest.raises(RuntimeError):
        documents.upload_document(
            account=tenant.account,
            acting_user=tenant.admin,
            data=INVOICE,
            name="x.pdf",
            item_type="bill",
            sales=False,
        )
    assert nothing_made() == (0, 0, [])


def test_uploading_into_another_account_is_404_and_makes_nothing(tenant, other_tenant):
    response = post_one(client_for(other_tenant.admin), tenant.account, INVOICE, "x.pdf")
    assert response.status_code == 404
    assert nothing_made() == (0, 0, [])


def test_staff_may_upload_and_anonymous_may_not(tenant, client):
    assert post_one(client_for(tenant.staff), tenant.account, INVOICE, "x.pdf").json()["ok"]
    response = post_one(client, tenant.account, INVOICE, "y.pdf")
    assert response.status_code == 302 and response.url.startswith("/login/")


# --- the scoped document views ------------------------------------------------------------------------


def uploaded(tenant, data=INVOICE, name="invoice.pdf", kind="bill", sales=False) -> Item:
    result = post_one(client_for(tenant.admin), tenant.account, data, name, kind=kind, sales=sales).json()
    assert result["ok"], result
    with scopes_disabled():
        return Item.objects.select_related("document").get(pk=result["url"].rstrip("/").rsplit("/", 1)[1])


def test_the_document_is_served_with_protective_headers(tenant):
    item = uploaded(tenant, name='in"voice ü.pdf')
    response = client_for(tenant.staff).get(f"/a/{tenant.account.slug}/costs/{item.pk}/document/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == INVOICE
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox; default-src 'none'")
    assert response["Content-Disposition"].startswith("inline; filename")
    assert "invoice" in response["Content-Disposition"] and "/" not in response["Content-Disposition"]
    download = client_for(tenant.staff).get(f"/a/{tenant.account.slug}/costs/{item.pk}/document/?download=1")
    assert download["Content-Disposition"].startswith("attachment;")


def test_pages_are_rendered_as_images(tenant):
    item = uploaded(
        tenant,
        data=samples.invoice_pdf(
            supplier="A", reference="R", date="1/1/2026", total="1.00", tax="0.00", extra_pages=1
        ),
    )
    client = client_for(tenant.admin)
    base = f"/a/{tenant.account.slug}/costs/{item.pk}/document/page/"
    for page in (1, 2):
        response = client.get(f"{base}?page={page}")
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert response["X-Content-Type-Options"] == "nosniff"
        picture = Image.open(io.BytesIO(response.content))
        assert max(picture.size) == documents.PAGE_PIXELS
        again = client.get(f"{base}?page={page}", headers={"If-None-Match": response["ETag"]})
        assert again.status_code == 304
    assert client.get(f"{base}?page=3").status_code == 404
    assert client.get(f"{base}?page=x").status_code == 404


def test_another_tenants_document_is_404(tenant, other_tenant):
    item = uploaded(tenant)
    mine = uploaded(other_tenant)
    stranger = client_for(other_tenant.admin)
    for suffix in ("document/", "document/page/?page=1", "thumbnail/"):
        # Their own account's address with this tenant's item id, and this tenant's address.
        for slug in (other_tenant.account.slug, tenant.account.slug):
            response = stranger.get(f"/a/{slug}/costs/{item.pk}/{suffix}")
            assert response.status_code == 404, (slug, suffix)
            assert b"%PDF" not in response.content
    assert stranger.get(f"/a/{other_tenant.account.slug}/costs/{mine.pk}/document/").status_code == 200


def test_a_cost_items_document_is_not_served_on_the_sales_side(tenant):
    item = uploaded(tenant)
    response = client_for(tenant.admin).get(f"/a/{tenant.account.slug}/sales/{item.pk}/document/")
    assert response.status_code == 404


def test_documents_have_no_public_address(tenant, client):
    item = uploaded(tenant)
    assert settings.MEDIA_URL not in ("", "/")
    for who in (client, client_for(tenant.admin)):
        assert who.get(f"{settings.MEDIA_URL}{item.document.file.name}").status_code == 404
        assert who.get(f"/{item.document.file.name}").status_code == 404
        assert who.get(f"/static/{item.document.file.name}").status_code == 404


def test_an_item_without_a_document_has_none_to_show(tenant):
    item = ItemFactory(account=tenant.account)
    client = client_for(tenant.admin)
    assert client.get(f"/a/{tenant.account.slug}/costs/{item.pk}/document/").status_code == 404
    assert (
        "This item has no document."
        in client.get(f"/a/{tenant.account.slug}/costs/{item.pk}/").content.decode()
    )


# --- the viewer and thumbnails ------------------------------------------------------------------------


def test_the_item_page_shows_the_viewer_with_its_pages(tenant):
    item = uploaded(
        tenant,
        data=samples.invoice_pdf(
            supplier="A", reference="R", date="1/1/2026", total="1.00", tax="0.00", extra_pages=2
        ),
    )
    body = client_for(tenant.admin).get(f"/a/{tenant.account.slug}/costs/{item.pk}/").content.decode()
    page = f"/a/{tenant.account.slug}/costs/{item.pk}/document/page/?page="
    assert f'data-pages="{page}1 {page}2 {page}3"' in body
    for label in ("Zoom in", "Zoom out", "Rotate 90° clockwise", "Previous page", "Next page"):
        assert f'aria-label="{label}"' in body
    assert "Page 1 of 3" in body and "js/viewer.js" in body


def test_a_photo_says_it_is_not_read(tenant):
    item = uploaded(tenant, data=samples.image("JPEG"), name="r.jpg", kind="receipt")
    body = client_for(tenant.admin).get(f"/a/{tenant.account.slug}/costs/{item.pk}/").content.decode()
    assert "photos and scans are not read (no OCR)" in body
    assert "Use these values" not in body


@pytest.mark.parametrize(
    ("data", "name"),
    [(INVOICE, "i.pdf"), (samples.image("JPEG", size=(300, 900)), "r.jpg"), (samples.image("PNG"), "p.png")],
)
def test_thumbnails_are_made_in_the_background_and_shown_in_the_inbox(tenant, data, name):
    item = uploaded(tenant, data=data, name=name, kind="receipt")
    client = client_for(tenant.admin)
    thumb_url = f"/a/{tenant.account.slug}/costs/{item.pk}/thumbnail/"
    assert client.get(thumb_url).status_code == 404  # not made yet: the task is queued
    assert thumb_url not in client.get(f"/a/{tenant.account.slug}/costs/").content.decode()
    assert make_thumbnail.call(account_id=tenant.account.pk, document_id=item.document.pk) is True
    response = client.get(thumb_url)
    assert response.status_code == 200 and response["X-Content-Type-Options"] == "nosniff"
    picture = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert max(picture.size) <= documents.THUMBNAIL_PIXELS * 2
    assert thumb_url in client.get(f"/a/{tenant.account.slug}/costs/").content.decode()


def test_the_upload_queues_the_thumbnail_task(tenant, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=True):
        uploaded(tenant)
    task = DBTaskResult.objects.get(task_path="costs.tasks.make_thumbnail")
    assert task.args_kwargs["kwargs"]["account_id"] == tenant.account.pk


def test_the_inbox_reads_thumbnails_without_a_query_per_row(tenant):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(tenant.admin)
    for n in range(2):
        uploaded(tenant, name=f"{n}.pdf")
    with CaptureQueriesContext(connection) as few:
        client.get(f"/a/{tenant.account.slug}/costs/")
    for n in range(5):
        uploaded(tenant, name=f"more{n}.pdf")
    with CaptureQueriesContext(connection) as many:
        client.get(f"/a/{tenant.account.slug}/costs/")
    assert len(many) == len(few)


def test_a_heic_photo_is_accepted_and_thumbnailed(tenant):
    import pillow_heif

    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (64, 48), "red")).save(buffer, quality=50)
    data = buffer.getvalue()
    assert documents.sniff(data[:64]) == documents.HEIC
    item = uploaded(tenant, data=data, name="IMG_0001.HEIC", kind="receipt")
    assert item.document.content_type == "image/heic"
    assert make_thumbnail.call(account_id=tenant.account.pk, document_id=item.document.pk) is True
    response = client_for(tenant.admin).get(f"/a/{tenant.account.slug}/costs/{item.pk}/document/page/?page=1")
    assert response["Content-Type"] == "image/jpeg"


# --- the pre-fill ----------------------------------------------------------------------------------


def test_values_are_read_from_the_text_layer_and_offered_not_applied(tenant):
    account = tenant.account
    supplier = SupplierFactory(account=account, name="Northwind Traders")
    SupplierRuleFactory(supplier=supplier, category="Cost of Goods Sold", payment_method="card")
    item = uploaded(tenant)
    found = item.document.suggested
    assert found["names"][0] == "Northwind Traders Ltd"
    assert (found["date"], found["total"], found["tax"]) == ("2026-11-12", "120.00", "20.00")
    # Offered, not applied.
    assert (item.supplier_id, item.total, item.tax, item.date) == (
        None,
        Decimal("0"),
        Decimal("0"),
        date.today(),
    )
    client = client_for(tenant.staff)
    page = client.get(f"/a/{account.slug}/costs/{item.pk}/").content.decode()
    assert "Use these values" in page and "Northwind Traders" in page and "12 Nov 2026" in page
    assert "£120.00" in page and "£20.00" in page
    response = client.post(f"/a/{account.slug}/costs/{item.pk}/prefill/", {"action": "use"})
    assert response.status_code == 302
    with scopes_disabled():
        item.refresh_from_db()
        assert (item.supplier, item.total, item.tax, item.date) == (
            supplier,
            Decimal("120.00"),
            Decimal("20.00"),
            date(2026, 11, 12),
        )
        # The supplier rule filled what it fills on any save.
        assert (item.category, item.payment_method) == ("Cost of Goods Sold", "card")
        assert item.document.prefill_closed_at is not None
    assert "Use these values" not in client.get(f"/a/{account.slug}/costs/{item.pk}/").content.decode()


def test_the_supplier_is_matched_against_the_software_lists(tenant):
    xero = ConnectionFactory(account=tenant.account, provider="xero")
    contact = SupplierEntryFactory(connection=xero, name="Northwind Traders Limited")
    item = uploaded(tenant)
    client = client_for(tenant.admin)
    assert (
        "Northwind Traders Limited (from Xero"
        in client.get(f"/a/{tenant.account.slug}/costs/{item.pk}/").content.decode()
    )
    client.post(f"/a/{tenant.account.slug}/costs/{item.pk}/prefill/", {"action": "use"})
    with scopes_disabled():
        item.refresh_from_db()
        assert item.supplier.name == "Northwind Traders Limited"
        assert item.supplier.links.get().entry == contact


def test_an_unknown_supplier_is_named_not_invented(tenant):
    item = uploaded(tenant)
    client = client_for(tenant.admin)
    page = client.get(f"/a/{tenant.account.slug}/costs/{item.pk}/").content.decode()
    assert "“Northwind Traders Ltd” is not one of your suppliers" in page
    client.post(f"/a/{tenant.account.slug}/costs/{item.pk}/prefill/", {"action": "use"})
    with scopes_disabled():
        item.refresh_from_db()
        assert item.supplier_id is None and item.total == Decimal("120.00")


def test_dismiss_stops_the_offer_and_changes_nothing(tenant):
    item = uploaded(tenant)
    client = client_for(tenant.admin)
    client.post(f"/a/{tenant.account.slug}/costs/{item.pk}/prefill/", {"action": "dismiss"})
    with scopes_disabled():
        item.refresh_from_db()
        assert item.total == 0
    assert "Use these values" not in client.get(f"/a/{tenant.account.slug}/costs/{item.pk}/").content.decode()


def test_the_prefill_of_another_tenants_item_is_404(tenant, other_tenant):
    item = uploaded(tenant)
    response = client_for(other_tenant.admin).post(
        f"/a/{other_tenant.account.slug}/costs/{item.pk}/prefill/", {"action": "use"}
    )
    assert response.status_code == 404
    with scopes_disabled():
        item.refresh_from_db()
        assert item.total == 0


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        (
            "ACME LTD\nDate: 03/04/2026\nSubtotal 1,000.00\nVAT 200.00\nTotal due £1,200.00",
            "en-GB",
            {"date": "2026-04-03", "total": "1200.00", "tax": "200.00"},
        ),
        (
            "ACME Inc\nInvoice date: 03/04/2026\nSales tax 8.25% 8.25\nTotal $108.25",
            "en-US",
            {"date": "2026-03-04", "total": "108.25", "tax": "8.25"},
        ),
        (
            "Firma GmbH\nRechnungsdatum 5 March 2026\nMwSt VAT 19%: 190,00\nTotal 1.190,00 €",
            "de-DE",
            {"date": "2026-03-05", "total": "1190.00", "tax": "190.00"},
        ),
        (
            "Shop\nVAT Reg No 123 4567 89\nDue date 2026-12-31\nIssued Nov 2, 2026\nAmount due 50.00",
            "en-GB",
            {"date": "2026-11-02", "total": "50.00"},
        ),
    ],
)
def test_reading_dates_and_amounts(tenant, text, locale, expected):
    from costs.prefill import read_text

    tenant.account.locale = locale
    found = read_text(text, account=tenant.account)
    assert {k: v for k, v in found.items() if k != "names"} == expected


# --- Ready -------------------------------------------------------------------------------------------


def test_mark_ready_needs_a_supplier_and_a_total(tenant):
    item = uploaded(tenant)
    client = client_for(tenant.admin)
    url = f"/a/{tenant.account.slug}/costs/{item.pk}/ready/"
    page = client.post(url, follow=True).content.decode()
    assert "Choose the supplier and total first" in page
    SupplierFactory(account=tenant.account, name="Northwind Traders Ltd")
    client.post(f"/a/{tenant.account.slug}/costs/{item.pk}/prefill/", {"action": "use"})
    assert "is Ready to publish" in client.post(url, follow=True).content.decode()
    with scopes_disabled():
        item.refresh_from_db()
        assert item.status == ItemStatus.READY
    assert "is Ready already" in client.post(url, follow=True).content.decode()


def test_env_names_the_storage_variables():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    for name in ("DOCUMENT_STORAGE", "MEDIA_ROOT", "S3_BUCKET", "S3_ENDPOINT_URL", "S3_ACCESS_KEY_ID"):
        assert f"`{name}`" in readme, name


def test_a_sales_invoice_shows_its_document_on_the_sales_side(tenant):
    customer = SupplierFactory(account=tenant.account, name="Wingtip Toys")
    data = samples.pdf_with_text([["Acme Test Ltd", "INVOICE SI-9", "Bill to: Wingtip Toys", "Total 99.00"]])
    item = uploaded(tenant, data=data, name="si.pdf", kind="sales_invoice", sales=True)
    client = client_for(tenant.admin)
    body = client.get(f"/a/{tenant.account.slug}/sales/{item.pk}/").content.decode()
    assert f"/a/{tenant.account.slug}/sales/{item.pk}/document/page/?page=1" in body
    assert "Wingtip Toys" in body and "Use these values" in body
    client.post(f"/a/{tenant.account.slug}/sales/{item.pk}/prefill/", {"action": "use"})
    with scopes_disabled():
        item.refresh_from_db()
        assert (item.supplier, item.total) == (customer, Decimal("99.00"))
    assert client.get(f"/a/{tenant.account.slug}/costs/{item.pk}/document/page/?page=1").status_code == 404


def test_s3_storage_is_configured_from_the_environment(monkeypatch):
    import runpy

    from storages.backends.s3 import S3Storage

    for name, value in {
        "DOCUMENT_STORAGE": "s3",
        "S3_BUCKET": "dext-documents",
        "S3_ENDPOINT_URL": "https://s3.example.com",
        "S3_REGION": "eu-west-2",
        "S3_ACCESS_KEY_ID": "key",
        "S3_SECRET_ACCESS_KEY": "secret",
        "S3_PREFIX": "prod",
    }.items():
        monkeypatch.setenv(name, value)
    configured = runpy.run_path(str(Path(settings.BASE_DIR) / "dext_connect" / "settings.py"))["STORAGES"]
    default = configured["default"]
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    storage = S3Storage(**default["OPTIONS"])  # django-storages takes every option as named
    assert (storage.bucket_name, storage.endpoint_url, storage.location) == (
        "dext-documents",
        "https://s3.example.com",
        "prod",
    )
    assert (storage.default_acl, storage.file_overwrite, storage.querystring_auth) == ("private", False, True)
