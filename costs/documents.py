"""Items in: an uploaded file becomes one item in To review with its document (issue 11).

What a file must be, checked from its content and never from its name or the type the browser claims:
- a PDF (starts with `%PDF-`), a JPEG (FF D8 FF), a PNG (its 8-byte signature) or a HEIC (an ISO-BMFF
  `ftyp` box whose brand is one of HEIF's HEVC brands);
- at most MAX_BYTES, not empty;
- a PDF that PDFium opens, with 1 to MAX_PDF_PAGES pages, none of an absurd size; an image that Pillow
  opens whole, of at most MAX_PIXELS pixels (a decompression bomb — a tiny PNG claiming 30,000 ×
  30,000 pixels — is refused from its header, before any pixel is decoded).
An HTML page or an SVG named `.pdf` is refused, and so is a ZIP archive. Nothing is half-made: the file
is written to storage only after it passed, the item and its document in one transaction, and the file
is deleted again if that transaction fails.

The stored name is generated (costs.models.document_path): the uploaded name is kept for display only,
and a name that tries to reach a folder (`../`, `\\`) is refused. A PDF's text layer is read here (for the
pre-fill, costs/prefill.py); images are not read (no OCR). PDFium is not thread-safe: every call into it
holds PDFIUM_LOCK.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import unicodedata
import warnings
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from accounts.activity import record
from accounts.errors import DomainError
from accounts.models import Account, User
from accounts.tenancy import in_account_scope

from .models import COST_TYPES, SALES_TYPES, Document, Item, ItemStatus, ItemType

logger = logging.getLogger("costs.documents")

MAX_BYTES = 20 * 1024 * 1024
MAX_FILES = 50
MAX_PDF_PAGES = 100
# Pixels an image may have (about an 8,000 × 6,000 photo); Pillow's own MAX_IMAGE_PIXELS is its guard.
MAX_PIXELS = 50_000_000
# A PDF page larger than this (in points, 200 inches) is not a document anyone scanned.
MAX_PAGE_POINTS = 14_400
# How many pages' text is read for the pre-fill.
TEXT_PAGES = 3
# Rendered pages and thumbnails: the longest side in pixels.
PAGE_PIXELS = 1400
THUMBNAIL_PIXELS = 96

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
HEIC = "image/heic"
ACCEPTED = "PDF, JPEG, PNG or HEIC"
HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}

PDFIUM_LOCK = threading.RLock()
_heif_registered = False


def _register_heif() -> bool:
    """Teach Pillow to open HEIC (pillow-heif). False when it is not installed."""
    global _heif_registered
    if not _heif_registered:
        try:
            from pillow_heif import register_heif_opener
        except ImportError:  # pragma: no cover - pinned in pyproject
            return False
        register_heif_opener()
        _heif_registered = True
    return True


def upload_types(*, sales: bool) -> list[tuple[str, str]]:
    """The types an upload may create on each side (cost items, or sales invoices)."""
    return [(t.value, t.label) for t in (SALES_TYPES if sales else COST_TYPES)]


# --- what a file is --------------------------------------------------------------------------------


def sniff(head: bytes) -> str | None:
    """The content type read from the first bytes, or None when it is none of the accepted ones."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(head) >= 12 and head[4:8] == b"ftyp":
        major = head[8:12]
        box = int.from_bytes(head[0:4], "big")
        compatible = {head[i : i + 4] for i in range(16, min(box, len(head)) - 3, 4)}
        if major in HEIC_BRANDS or (major in (b"mif1", b"msf1") and compatible & HEIC_BRANDS):
            return HEIC
    return None


def _looks_like(head: bytes) -> str:
    """What a refused file seems to be, for the message ("" when nothing recognisable)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if (
        text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script"))
        or b"<html" in text[:512]
    ):
        return "an HTML page"
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text[:1024]):
        return "an SVG image"
    if text.startswith(b"<"):
        return "an XML or HTML file"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF image"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "a video or an image type other than HEIC"
    return ""


def safe_name(raw: str) -> str:
    """The uploaded name as shown and as the attachment's name: printable, no folders, ≤ 200 characters.
    Raises DomainError for a name that tries to name a folder (`../`, `a/b`, `C:\\`)."""
    name = unicodedata.normalize("NFC", raw or "").strip()
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith(".."):
        raise DomainError(
            f"“{name[:80]}” names a folder (../ or a path): upload the file under its own name.",
            code="bad_name",
        )
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + dot + ext[:9]) if dot and len(ext) <= 9 else name[:200]
    return name or "document"


@dataclass
class Checked:
    """A file that passed every check, ready to store."""

    data: bytes
    name: str
    content_type: str
    pages: int
    text: str


def check_file(data: bytes, *, name: str) -> Checked:
    """Every check of an uploaded file, from its content. Raises DomainError saying what is wrong."""
    shown = name or "The file"
    if not data:
        raise DomainError(f"{shown} is empty.", code="empty")
    if len(data) > MAX_BYTES:
        raise DomainError(
            f"{shown} is {len(data) / 1_048_576:.1f} MB: files may be up to {MAX_BYTES // 1_048_576} MB.",
            code="too_big",
        )
    content_type = sniff(data[:64])
    if content_type is None:
        seems = _looks_like(data[:2048])
        claimed = name.lower().rsplit(".", 1)[-1] if "." in name else ""
        what = f"it is {seems}" if seems else "its content is not one of those types"
        extension = f", whatever its .{claimed} name says" if claimed and seems else ""
        raise DomainError(f"{shown} is not a {ACCEPTED} file: {what}{extension}.", code="wrong_type")
    if content_type == PDF:
        pages, text = _check_pdf(data, shown)
        return Checked(data=data, name=name, content_type=PDF, pages=pages, text=text)
    _check_image(data, shown, content_type)
    return Checked(data=data, name=name, content_type=content_type, pages=1, text="")


def _check_pdf(data: bytes, shown: str) -> tuple[int, str]:
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as error:
            if "password" in str(error).lower():
                raise DomainError(
                    f"{shown} is protected by a password: upload it without the password.", code="encrypted"
                ) from error
            raise DomainError(
                f"{shown} is a damaged or empty PDF that cannot be opened.", code="corrupt"
            ) from error
        try:
            pages = len(document)
            if pages == 0:
                raise DomainError(f"{shown} is a PDF without any page.", code="empty")
            if pages > MAX_PDF_PAGES:
                raise DomainError(
                    f"{shown} has {pages} pages: a document may have up to {MAX_PDF_PAGES}.",
                    code="too_many_pages",
                )
            for index in range(pages):
                width, height = document.get_page_size(index)
                if not (0 < width <= MAX_PAGE_POINTS and 0 < height <= MAX_PAGE_POINTS):
                    raise DomainError(
                        f"{shown} has a page of {width:.0f} × {height:.0f} points, too large to show.",
                        code="page_size",
                    )
            return pages, _pdf_text(document)
        finally:
            document.close()


def _pdf_text(document) -> str:
    """The text layer of the first TEXT_PAGES pages ("" when it has none: a scan)."""
    texts = []
    for index in range(min(len(document), TEXT_PAGES)):
        page = document[index]
        try:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_bounded())
            textpage.close()
        finally:
            page.close()
    return "\n".join(texts).replace("\r\n", "\n").replace("\r", "\n")[:50_000]


def _open_image(data: bytes, shown: str, content_type: str):
    """The image opened by Pillow (not yet decoded), its pixel count checked from its header."""
    from PIL import Image, UnidentifiedImageError

    if content_type == HEIC and not _register_heif():  # pragma: no cover - pillow-heif is pinned
        raise DomainError(f"{shown}: HEIC images cannot be read on this server.", code="heic")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _bomb(shown) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise DomainError(f"{shown} is a damaged image that cannot be opened.", code="corrupt") from error
    width, height = picture.size
    if width <= 0 or height <= 0:
        raise DomainError(f"{shown} is an image without any pixel.", code="empty")
    if width * height > MAX_PIXELS:
        raise _bomb(shown, width, height)
    return picture


def _bomb(shown: str, width: int = 0, height: int = 0) -> DomainError:
    size = f" ({width:,} × {height:,} pixels)" if width else ""
    return DomainError(
        f"{shown} is too large an image{size}: images may have up to "
        f"{MAX_PIXELS // 1_000_000} million pixels.",
        code="bomb",
    )


def _check_image(data: bytes, shown: str, content_type: str) -> None:
    from PIL import Image

    picture = _open_image(data, shown, content_type)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture.load()  # decodes every pixel: a truncated or corrupt file fails here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _bomb(shown) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise DomainError(f"{shown} is a damaged image that cannot be opened.", code="corrupt") from error
    finally:
        picture.close()


# --- the upload --------------------------------------------------------------------------------------


def read_upload(upload) -> bytes:
    """The bytes of an UploadedFile, refusing one over MAX_BYTES before reading it whole."""
    if upload.size is not None and upload.size > MAX_BYTES:
        raise DomainError(
            f"{upload.name} is {upload.size / 1_048_576:.1f} MB: files may be up to "
            f"{MAX_BYTES // 1_048_576} MB.",
            code="too_big",
        )
    upload.seek(0)
    return upload.read(MAX_BYTES + 1)


@in_account_scope
def upload_document(
    *, account: Account, acting_user: User, data: bytes, name: str, item_type: str, sales: bool
) -> Item:
    """One uploaded file -> one item in To review (owner: the uploader, dated today, of `item_type`)
    with its document. Its Integration is "Use rule/default" (nothing set on the item: the routing
    rule decides, costs/routing.py); its supplier rule fills Category, Tax rate and Payment method
    when a supplier is chosen (services.update_item). Raises DomainError, having made nothing."""
    allowed = SALES_TYPES if sales else COST_TYPES
    if item_type not in allowed:
        kinds = " or ".join(label.lower() for _, label in upload_types(sales=sales))
        raise DomainError(f"Choose what the file is: {kinds}.", code="type")
    name = safe_name(name)
    checked = check_file(data, name=name)
    from .prefill import read_text

    suggested = read_text(checked.text, account=account, sales=sales) if checked.text else {}
    document = Document(
        account=account,
        original_name=checked.name,
        content_type=checked.content_type,
        size=len(checked.data),
        pages=checked.pages,
        sha256=hashlib.sha256(checked.data).hexdigest(),
        text=checked.text,
        suggested=suggested,
        uploaded_by=acting_user,
    )
    # The file first (its name generated from the account and the type read), then the rows; if they
    # fail, the file goes again: nothing is left half-made.
    document.file.save(checked.name, ContentFile(checked.data), save=False)
    try:
        with transaction.atomic():
            item = Item.objects.create(
                account=account,
                type=item_type,
                status=ItemStatus.TO_REVIEW,
                date=timezone.localdate(),
                owner=acting_user,
                currency=_currency(account),
            )
            document.item = item
            document.save()
            record(
                account=account,
                actor=acting_user,
                action="item.uploaded",
                summary=f"Uploaded {checked.name} as a new {ItemType(item_type).label.lower()}",
            )
            transaction.on_commit(lambda: _queue_thumbnail(account.pk, document.pk))
    except BaseException:
        document.file.storage.delete(document.file.name)
        raise
    return item


def _currency(account: Account) -> str:
    """The currency of the account's latest item (a new account: the field's default)."""
    latest = Item.objects.filter(account=account).order_by("-id").values_list("currency", flat=True).first()
    return latest or Item._meta.get_field("currency").default


def _queue_thumbnail(account_id: int, document_id: int) -> None:
    from .tasks import make_thumbnail

    try:
        make_thumbnail.enqueue(account_id=account_id, document_id=document_id)
    except Exception:  # the upload stands; the inbox shows no thumbnail until one is made
        logger.exception("Could not queue the thumbnail of document %s", document_id)


# --- pictures of a document --------------------------------------------------------------------------


def _read(document: Document) -> bytes:
    with document.file.open("rb") as handle:
        return handle.read()


def page_image(document: Document, page: int, *, longest: int = PAGE_PIXELS):
    """Page `page` (1-based) of the document as a Pillow RGB image whose longest side is at most
    `longest` pixels: a PDF's page rendered by PDFium, an image (HEIC included) decoded and turned
    upright by its EXIF orientation."""
    from PIL import Image, ImageOps

    data = _read(document)
    if document.content_type == PDF:
        import pypdfium2 as pdfium

        with PDFIUM_LOCK:
            pdf = pdfium.PdfDocument(data)
            try:
                if not 1 <= page <= len(pdf):
                    raise DomainError("That page does not exist.", code="no_page")
                width, height = pdf.get_page_size(page - 1)
                scale = min(longest / max(width, height, 1), 4.0)
                pdf_page = pdf[page - 1]
                try:
                    return pdf_page.render(scale=scale).to_pil().convert("RGB")
                finally:
                    pdf_page.close()
            finally:
                pdf.close()
    if page != 1:
        raise DomainError("That page does not exist.", code="no_page")
    picture = _open_image(data, document.original_name, document.content_type)
    picture = ImageOps.exif_transpose(picture).convert("RGB")
    picture.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    return picture


def encode(picture, kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    if kind == "JPEG":
        picture.save(buffer, "JPEG", quality=85, optimize=True)
    else:
        picture.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


@in_account_scope
def make_thumbnail(*, account: Account, document_id: int) -> bool:
    """The document's small picture for the inbox (its first page), stored beside it. Returns False
    when the document is gone or cannot be drawn (the inbox then shows none)."""
    document = Document.objects.filter(account=account, pk=document_id).first()
    if document is None:
        return False
    try:
        picture = page_image(document, 1, longest=THUMBNAIL_PIXELS * 2)
    except Exception:
        logger.exception("No thumbnail for document %s", document_id)
        return False
    # Centred on a square (the inbox's cell is square, whatever the page's shape).
    from PIL import Image

    side = THUMBNAIL_PIXELS * 2
    square = Image.new("RGB", (side, side), "white")
    square.paste(picture, ((side - picture.width) // 2, (side - picture.height) // 2))
    picture = square
    old = document.thumbnail.name if document.thumbnail else ""
    document.thumbnail.save("thumbnail.png", ContentFile(encode(picture)), save=False)
    Document.objects.filter(pk=document.pk).update(thumbnail=document.thumbnail.name)
    if old:
        document.thumbnail.storage.delete(old)
    return True
