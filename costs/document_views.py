"""Items in (issue 11): the Upload page, the document views, the pre-fill's "Use these values", and
"Mark as Ready".

Documents are never public: every byte of one is read through these tenant-scoped views, which find
the item the way its page does (selectors.get_item_for_account: another account's item is 404), and
answer with `Content-Disposition` (inline, a safe file name), `X-Content-Type-Options: nosniff` and a
sandboxing Content-Security-Policy, so a document opened on its own can run nothing.
"""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.core.cache import cache
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from accounts.errors import DomainError
from accounts.tenancy import account_view

from . import documents, prefill, services
from .models import ItemType
from .selectors import get_item_for_account

# What a document's own answer may do when opened on its own: nothing (no script, no plugin, no form,
# no request anywhere), its images and styles excepted so a browser can still show it.
SANDBOX_CSP = (
    "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
)
PAGE_CACHE_SECONDS = 3600
PAGE_CACHE_MAX_BYTES = 1_500_000


def _name(request: HttpRequest, name: str, *, sales: bool) -> str:
    return f"costs:{'sales_' if sales else ''}{name}"


def _url(request: HttpRequest, name: str, *args, sales: bool) -> str:
    return reverse(_name(request, name, sales=sales), args=[request.account.slug, *args])


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


# --- Upload -----------------------------------------------------------------------------------------


def _upload(request: HttpRequest, *, sales: bool) -> HttpResponse:
    types = documents.upload_types(sales=sales)
    chosen = request.POST.get("type", types[0][0])
    results: list[dict] = []
    if request.method == "POST":
        files = request.FILES.getlist("files")
        if _wants_json(request):
            return _upload_one(request, files, chosen=chosen, sales=sales)
        results = _upload_many(request, files, chosen=chosen, sales=sales)
    return render(
        request,
        "costs/upload.html",
        {
            "sales": sales,
            "types": types,
            "chosen": chosen,
            "results": results,
            "uploaded": sum(1 for r in results if r["ok"]),
            "max_files": documents.MAX_FILES,
            "max_mb": documents.MAX_BYTES // 1_048_576,
            "inbox_url": reverse(
                "costs:sales_inbox" if sales else "costs:inbox", args=[request.account.slug]
            ),
        },
    )


def _too_many(count: int) -> str:
    return (
        f"{count} files were chosen: upload up to {documents.MAX_FILES} at once. Nothing was uploaded; "
        f"choose fewer and try again."
    )


def _store(request: HttpRequest, upload, *, name: str, chosen: str, sales: bool) -> dict:
    """One file -> one item; the result as the page and the script show it."""
    try:
        data = documents.read_upload(upload)
        item = documents.upload_document(
            account=request.account,
            acting_user=request.user,
            data=data,
            name=name,
            item_type=chosen,
            sales=sales,
        )
    except DomainError as error:
        return {"ok": False, "name": name, "message": error.message}
    return {
        "ok": True,
        "name": item.document.original_name,
        "message": f"Added to To review as a {ItemType(item.type).label.lower()}.",
        "url": _url(request, "item_detail", item.pk, sales=sales),
    }


def _upload_one(request: HttpRequest, files, *, chosen: str, sales: bool) -> JsonResponse:
    """The script's request: one file (each file its own request, so each gets its own progress and
    answer). `batch` is how many files the user chose at once; `filename` the name as chosen (Django
    strips folders from the multipart name, so a `../` would otherwise go unseen)."""
    try:
        batch = int(request.POST.get("batch", "1"))
    except ValueError:
        batch = 1
    if batch > documents.MAX_FILES:
        return JsonResponse({"ok": False, "name": "", "message": _too_many(batch)})
    if len(files) != 1:
        return JsonResponse({"ok": False, "name": "", "message": "Send one file per request."})
    upload = files[0]
    return JsonResponse(
        _store(request, upload, name=request.POST.get("filename") or upload.name, chosen=chosen, sales=sales)
    )


def _upload_many(request: HttpRequest, files, *, chosen: str, sales: bool) -> list[dict]:
    """The form sent without the script: all files in one request."""
    if not files:
        messages.error(request, "Choose at least one file to upload.")
        return []
    if len(files) > documents.MAX_FILES:
        messages.error(request, _too_many(len(files)))
        return []
    return [_store(request, upload, name=upload.name, chosen=chosen, sales=sales) for upload in files]


@account_view("items.edit")
def upload(request: HttpRequest) -> HttpResponse:
    return _upload(request, sales=False)


@account_view("items.edit")
def sales_upload(request: HttpRequest) -> HttpResponse:
    return _upload(request, sales=True)


# --- the document, its pages and its thumbnail -------------------------------------------------------


def _document(request: HttpRequest, item_id: int, *, sales: bool):
    item = get_item_for_account(account=request.account, id=item_id, sales=sales)
    document = getattr(item, "document", None)
    if document is None:
        raise Http404("This item has no document.")
    return item, document


def protect(response: HttpResponse, *, filename: str, attachment: bool = False) -> HttpResponse:
    """The headers every answer carrying a document's bytes has."""
    response["Content-Disposition"] = content_disposition_header(attachment, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, max-age=300"
    return response


def _document_view(request: HttpRequest, item_id: int, *, sales: bool) -> HttpResponse:
    _, document = _document(request, item_id, sales=sales)
    try:
        handle = document.file.open("rb")
    except (FileNotFoundError, OSError) as error:
        raise Http404("The document's file is missing.") from error
    response = FileResponse(handle, content_type=document.content_type)
    return protect(response, filename=document.original_name, attachment=request.GET.get("download") == "1")


def _page_view(request: HttpRequest, item_id: int, *, sales: bool) -> HttpResponse:
    """Page `?page=N` of the document as an image the browser can show (a PDF's page rendered, a
    HEIC converted), cached for an hour by the document's content and page."""
    _, document = _document(request, item_id, sales=sales)
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        page = 0
    if not 1 <= page <= document.pages:
        raise Http404("That page does not exist.")
    kind = "PNG" if document.content_type == documents.PDF else "JPEG"
    etag = f'"{hashlib.sha256(f"{document.sha256}:{page}:{kind}".encode()).hexdigest()[:32]}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
        response["ETag"] = etag
        return response
    key = f"costs:document-page:{document.pk}:{etag}"
    body = cache.get(key)
    if body is None:
        try:
            body = documents.encode(documents.page_image(document, page), kind)
        except (DomainError, FileNotFoundError, OSError) as error:
            raise Http404("That page cannot be shown.") from error
        if len(body) <= PAGE_CACHE_MAX_BYTES:
            cache.set(key, body, PAGE_CACHE_SECONDS)
    response = HttpResponse(body, content_type=f"image/{kind.lower()}")
    response["ETag"] = etag
    stem = document.original_name.rsplit(".", 1)[0] or "document"
    return protect(response, filename=f"{stem}-page-{page}.{kind.lower().replace('jpeg', 'jpg')}")


def _thumbnail_view(request: HttpRequest, item_id: int, *, sales: bool) -> HttpResponse:
    _, document = _document(request, item_id, sales=sales)
    if not document.thumbnail:
        raise Http404("No thumbnail yet.")
    try:
        handle = document.thumbnail.open("rb")
    except (FileNotFoundError, OSError) as error:
        raise Http404("The thumbnail is missing.") from error
    response = protect(FileResponse(handle, content_type="image/png"), filename="thumbnail.png")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@account_view("account.view")
def document(request: HttpRequest, item_id: int) -> HttpResponse:
    return _document_view(request, item_id, sales=False)


@account_view("account.view")
def sales_document(request: HttpRequest, item_id: int) -> HttpResponse:
    return _document_view(request, item_id, sales=True)


@account_view("account.view")
def document_page(request: HttpRequest, item_id: int) -> HttpResponse:
    return _page_view(request, item_id, sales=False)


@account_view("account.view")
def sales_document_page(request: HttpRequest, item_id: int) -> HttpResponse:
    return _page_view(request, item_id, sales=True)


@account_view("account.view")
def thumbnail(request: HttpRequest, item_id: int) -> HttpResponse:
    return _thumbnail_view(request, item_id, sales=False)


@account_view("account.view")
def sales_thumbnail(request: HttpRequest, item_id: int) -> HttpResponse:
    return _thumbnail_view(request, item_id, sales=True)


# --- pre-fill and Ready ------------------------------------------------------------------------------


def _prefill(request: HttpRequest, item_id: int, *, sales: bool) -> HttpResponse:
    item = get_item_for_account(account=request.account, id=item_id, sales=sales)
    use = request.POST.get("action") == "use"
    try:
        prefill.apply_offer(account=request.account, acting_user=request.user, item_id=item.pk, use=use)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            "Used the values read from the document."
            if use
            else "The values read from the document are dismissed.",
        )
    return redirect(_url(request, "item_detail", item.pk, sales=sales))


@require_POST
@account_view("items.edit")
def item_prefill(request: HttpRequest, item_id: int) -> HttpResponse:
    return _prefill(request, item_id, sales=False)


@require_POST
@account_view("items.edit")
def sales_item_prefill(request: HttpRequest, item_id: int) -> HttpResponse:
    return _prefill(request, item_id, sales=True)


def _ready(request: HttpRequest, item_id: int, *, sales: bool) -> HttpResponse:
    item = get_item_for_account(account=request.account, id=item_id, sales=sales)
    try:
        services.mark_ready(account=request.account, acting_user=request.user, item_id=item.pk)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{services.item_name(item)} is Ready to publish.")
    return redirect(_url(request, "item_detail", item.pk, sales=sales))


@require_POST
@account_view("items.edit")
def item_ready(request: HttpRequest, item_id: int) -> HttpResponse:
    return _ready(request, item_id, sales=False)


@require_POST
@account_view("items.edit")
def sales_item_ready(request: HttpRequest, item_id: int) -> HttpResponse:
    return _ready(request, item_id, sales=True)
