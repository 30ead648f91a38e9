"""Password change (signed in) and password reset by e-mail: Django's own views, this product's
templates and URLs.

Both end the user's other sessions. Django keeps a hash of the password in each session and
`django.contrib.auth.get_user` signs out any session whose hash no longer matches; after a change,
PasswordChangeView calls `update_session_auth_hash` so only the session that made the change stays
signed in. After a reset nobody stays signed in (`post_reset_login` is off): the person signs in with
the new password.

The reset page says the same words whether or not an address has a login (Django's behaviour: it
sends nothing to an unknown address and shows the same page), so it cannot be used to find out who
has one. Links in the e-mail are built from SITE_URL, not from the request's Host header.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.urls import reverse_lazy

from . import throttling
from .tasks import send_password_reset


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


class PasswordResetView(auth_views.PasswordResetView):
    """The page only enqueues the e-mail (accounts/tasks.py), the same work for every address, so
    neither its words nor its timing tell whether an address has a login."""

    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("accounts:password_reset_sent")

    def form_valid(self, form):
        send_password_reset.enqueue(email=form.cleaned_data["email"])
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetSentView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_sent.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        throttling.lift_login_lockout(form.user.email)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
