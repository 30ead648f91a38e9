"""Background tasks of the accounts app (django-tasks; a worker runs them: `manage.py db_worker`)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django_tasks import task


@task()
def send_password_reset(*, email: str) -> None:
    """E-mail a reset link if `email` has a login; nothing otherwise. Run in the background so that the
    reset page takes the same time whether or not the address has a login (sending mail is slow, and
    only happens for one of the two): the page only enqueues this task, whatever the address."""
    form = PasswordResetForm(data={"email": email})
    if not form.is_valid():
        return
    form.save(
        # The e-mail's links are built from SITE_URL (extra_email_context), never from a Host header;
        # domain_override only keeps Django from asking the sites framework, which this project lacks.
        domain_override=settings.SITE_URL.split("://", 1)[-1],
        use_https=settings.SITE_URL.startswith("https://"),
        subject_template_name="accounts/password_reset_subject.txt",
        email_template_name="accounts/password_reset_email.txt",
        extra_email_context={"site_url": settings.SITE_URL},
    )
