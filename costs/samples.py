"""Sample documents made in code: small valid PDFs with a text layer (Helvetica, written by hand, every
byte offset of the cross-reference table computed) and JPEG/PNG images drawn with Pillow. The demo gives
its items these (costs/demo.py), and the tests upload them (tests/costs/test_documents.py)."""

from __future__ import annotations

import io
from collections.abc import Sequence


def _escape(line: str) -> bytes:
    text = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return text.encode("cp1252", errors="replace")


def pdf_with_text(
    pages: Sequence[Sequence[str]],
    *,
    size: tuple[int, int] = (595, 842),
    band: tuple[float, float, float] | None = None,
) -> bytes:
    """A PDF of `pages`, each a list of lines of text (its text layer is those lines); `band`, an RGB
    colour (0–1) for a header band across the top of each page, so thumbnails tell documents apart."""
    objects: list[bytes | None] = []

    def add(body: bytes | None) -> int:
        objects.append(body)
        return len(objects)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    pages_id = add(None)  # written once the pages are known
    kids = []
    for lines in pages:
        parts = []
        if band is not None:
            parts.append(b"%.3f %.3f %.3f rg 0 %d %d 150 re f 0 0 0 rg" % (*band, size[1] - 150, size[0]))
        parts.append(b"BT /F1 16 Tf 56 %d Td 22 TL" % (size[1] - 190 if band else size[1] - 72))
        parts += [b"(" + _escape(line) + b") Tj T*" for line in lines]
        parts.append(b"ET")
        stream = b"\n".join(parts)
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 %d 0 R >> >>"
                b" /Contents %d 0 R >>" % (pages_id, size[0], size[1], font, content)
            )
        )
    objects[pages_id - 1] = (
        b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % kid for kid in kids)
        + b"] /Count %d >>" % len(kids)
    )
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        catalog,
        xref,
    )
    return bytes(out)


def invoice_pdf(
    *,
    supplier: str,
    reference: str,
    date: str,
    total: str,
    tax: str,
    currency: str = "£",
    extra_pages: int = 0,
) -> bytes:
    """A supplier's invoice as a PDF with a text layer: what the pre-fill reads (costs/prefill.py)."""
    first = [
        supplier,
        "1 High Street, London",
        "",
        f"INVOICE {reference}",
        f"Invoice date: {date}",
        "",
        "Description                      Amount",
        f"Goods and services               {currency}{total}",
        f"VAT 20%: {currency}{tax}",
        f"Total: {currency}{total}",
    ]
    more = [[f"{reference} — page {n + 2}", "Terms and conditions."] for n in range(extra_pages)]
    # A colour of the supplier's own for the band, the same every time.
    hue = sum(supplier.encode()) % 6
    band = [
        (0.05, 0.36, 1),
        (0.1, 0.6, 0.3),
        (0.85, 0.4, 0.1),
        (0.6, 0.2, 0.7),
        (0.8, 0.15, 0.2),
        (0.1, 0.55, 0.65),
    ]
    return pdf_with_text([first, *more], band=band[hue])


def image(kind: str = "JPEG", *, size: tuple[int, int] = (600, 800), text: str = "Receipt") -> bytes:
    """A receipt-like picture (JPEG or PNG), drawn with Pillow."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(picture)
    draw.rectangle([20, 20, size[0] - 20, size[1] - 20], outline="black", width=4)
    for row in range(5):
        draw.text((50, 60 + row * 40), f"{text} line {row + 1}", fill="black")
    buffer = io.BytesIO()
    picture.save(buffer, kind)
    return buffer.getvalue()
