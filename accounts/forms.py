from django import forms
from django.contrib.auth.forms import UserCreationForm

from accounts.models import API_TOKEN_NAME_MAX_LENGTH
from accounts.selectors import DeviceCodeRejected, pending_device_grant


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username",)


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=API_TOKEN_NAME_MAX_LENGTH,
        help_text="Where the token will be used, e.g. “laptop importer”.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "laptop importer"}),
    )


class DeviceCodeForm(forms.Form):
    user_code = forms.CharField(
        label="Code shown on your device",
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "placeholder": "WDJB-MJHT",
            }
        ),
    )

    def clean_user_code(self) -> str:
        try:
            self.device_grant = pending_device_grant(typed_code=self.cleaned_data["user_code"])
        except DeviceCodeRejected as rejection:
            raise forms.ValidationError(rejection.message, code="rejected_user_code") from None
        return self.device_grant.user_code


class DeviceDecisionForm(forms.Form):
    user_code = forms.CharField(max_length=32, widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")])
