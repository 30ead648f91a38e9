from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordMixin

from .models import Role, User


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        "invalid_login": "That e-mail and password do not match an account. Check both and try again.",
        "inactive": "This user has been deactivated.",
    }


class AddUserForm(forms.Form):
    """Business settings > Users: invite someone by e-mail (accounts/invitations.py)."""

    # 254: the longest address the user and invitation columns hold (RFC 5321's path limit). Without
    # it an address of 255-320 characters passes Django's EmailValidator and fails in PostgreSQL.
    email = forms.EmailField(
        label="E-mail",
        max_length=254,
        error_messages={"max_length": "An e-mail address can be at most 254 characters long."},
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.STANDARD)


class ChangeRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class AcceptInvitationForm(SetPasswordMixin, forms.Form):
    """A person with no login yet accepts an invitation: they choose their own password, checked by
    Django's password validators (AUTH_PASSWORD_VALIDATORS), as on every other password form."""

    full_name = forms.CharField(label="Your name (optional)", max_length=150, required=False)
    password1, password2 = SetPasswordMixin.create_password_fields(
        label1="Choose a password", label2="Type the password again"
    )

    def __init__(self, email: str, *args, **kwargs) -> None:
        # The login to be: the similarity validator compares the password with the e-mail and name.
        self.user = User(email=email)
        super().__init__(*args, **kwargs)

    def clean(self) -> dict:
        self.user.full_name = self.cleaned_data.get("full_name", "")
        self.validate_passwords()
        self.validate_password_for_user(self.user)
        return super().clean()
