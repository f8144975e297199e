"""The forms of the Users page and of /me/: they take the input; engage.users checks every rule again and says
what is wrong (a DomainError on its field)."""

from django import forms

from .forms import AccessibleForm
from .limits import EMAIL_MAX_CHARS, NAME_MAX_CHARS
from .users import ROLE_CHOICES, password_rules


class BootstrapForm(AccessibleForm):
    """Bootstrap's classes on every widget, and one group of every field (setup/object_edit.html draws them)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.RadioSelect):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")

    def fieldsets(self):
        return [(None, "", list(self))]


def _password(label: str, *, autocomplete: str = "new-password", help_text: str = "") -> forms.CharField:
    return forms.CharField(label=label, strip=False, max_length=4096, help_text=help_text,
                           widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}))


class _TwoPasswords(BootstrapForm):
    """A new password typed twice (the second only has to match: the service checks the first)."""

    first, second = "password", "password_again"

    def clean(self):
        cleaned = super().clean()
        if self.first in cleaned and self.second in cleaned and cleaned[self.first] != cleaned[self.second]:
            self.add_error(self.second, "The two passwords differ.")
        return cleaned


class UserCreateForm(_TwoPasswords):
    username = forms.CharField(label="User name", max_length=150,
                               help_text="Letters, digits and @ . + - _ only; what the user signs in with.",
                               widget=forms.TextInput(attrs={"autocomplete": "off"}))
    email = forms.CharField(label="E-mail", required=False, max_length=EMAIL_MAX_CHARS,
                            widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES, initial="support",
                             help_text="Administrators may do everything, Setup included; Support may not open Setup.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"] = _password(
            "Password", help_text=" ".join(password_rules()) + " The user chooses their own at their first sign-in.")
        self.fields["password_again"] = _password("Password again")


class RoleForm(BootstrapForm):
    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES)


class PasswordChangeForm(_TwoPasswords):
    first, second = "new_password", "new_password_again"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"] = _password("Current password", autocomplete="current-password")
        self.fields["new_password"] = _password("New password", help_text=" ".join(password_rules()))
        self.fields["new_password_again"] = _password("New password again")


class TokenForm(BootstrapForm):
    name = forms.CharField(label="Name", max_length=NAME_MAX_CHARS,
                           help_text="What the token is for, say “billing export” or the program that uses it.")
    expires = forms.CharField(label="Expires on", required=False, max_length=10,
                              help_text="Optional: from 00:00 that day the token no longer works. Empty: it never "
                                        "expires (revoke it when it is no longer needed).",
                              widget=forms.DateInput(attrs={"type": "date"}))
