"""Helpers for the attachment tests: small real files made in the test (a minimal PDF, a 1×1 JPEG),
stored as an item's `costs.Document` through Django's storage under a temporary MEDIA_ROOT, and the
attach tasks worked off as the database worker would."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from django_scopes import scopes_disabled
from django_tasks import TaskResultStatus

from costs.models import Document, Item

ATTACH_TASK = "costs.tasks.attach_document"

# JPEG bytes: a baseline JPEG's markers (SOI, APP0/JFIF, DQT, SOF0 1×1, DHT, SOS, a scan byte, EOI).
# The sandboxes check a file's type by the bytes it starts with, as this one does.
JPEG_1PX = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912"
    "130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001"
    "000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b51000020103"
    "03020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f024336272"
    "82090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475"
    "767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9"
    "cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9"
)


def pdf_bytes(text: str = "Invoice INV-1") -> bytes:
    """A minimal one-page PDF with `text` on it, its xref table's offsets computed."""
    stream = f"BT /F1 18 Tf 40 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


@pytest.fixture
def media(settings, tmp_path):
    """Documents stored under a temporary MEDIA_ROOT (Django's file-system storage)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def with_document(
    item: Item, content: bytes | None = None, *, content_type: str = "application/pdf", name: str = ""
) -> Document:
    """The item's document: `content` (a PDF by default) stored through Django's storage."""
    content = pdf_bytes(f"Invoice {item.reference}") if content is None else content
    with scopes_disabled():
        document = Document(
            account=item.account,
            item=item,
            original_name=name or f"{item.reference or 'receipt'}.pdf",
            content_type=content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            uploaded_by=item.owner,
        )
        document.file.save("upload", ContentFile(content), save=False)
        document.save()
    return document


def document_of(item: Item) -> Document:
    with scopes_disabled():
        return Document.objects.get(item_id=item.pk)


def attach_tasks(*, due_only: bool = True) -> list[dict]:
    """The attach tasks waiting in the queue (their kwargs), on either task backend."""
    from tests.integrations.publishing_helpers import _rq_publish_jobs, on_redis

    if on_redis():
        return [dict(job.kwargs) for job in _rq_publish_jobs(due_only=due_only, path=ATTACH_TASK)]
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.filter(task_path=ATTACH_TASK, status=TaskResultStatus.READY)
    if due_only:
        rows = rows.ready()
    return [row.args_kwargs["kwargs"] for row in rows.order_by("enqueued_at")]


def work_off_attachments() -> list[str | None]:
    """Run every due attach task once, as the worker does (each marked done), in order."""
    from django_tasks_db.models import DBTaskResult

    from costs.tasks import attach_document

    results = []
    for row in list(
        DBTaskResult.objects.filter(task_path=ATTACH_TASK, status=TaskResultStatus.READY)
        .ready()
        .order_by("enqueued_at")
    ):
        DBTaskResult.objects.filter(pk=row.pk).update(
            status=TaskResultStatus.SUCCESSFUL, started_at=timezone.now(), finished_at=timezone.now()
        )
        results.append(attach_document.func(**row.args_kwargs["kwargs"]))
    return results
