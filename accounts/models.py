from django.conf import settings
from django.db import models

API_TOKEN_NAME_MAX_LENGTH = 100


class ApiToken(models.Model):
    """A named key a program uses to act as its user on the API; only the key's SHA-256 is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(
        max_length=API_TOKEN_NAME_MAX_LENGTH, help_text="What the owner calls it, e.g. the machine or script using it."
    )
    key_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the key, hex.")
    prefix = models.CharField(max_length=12, help_text="The key's first characters, to tell tokens apart.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "created_at"], name="apitoken_user_newest")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
