from django import forms
from django.contrib.auth.forms import AuthenticationForm

from .models import Role


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        "invalid_login": "That e-mail and password do not match an account. Check both and try again.",
        "inactive": "This user has been deactivated.",
    }


class AddUserForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.STANDARD)


class ChangeRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
