"""User codes for the OAuth device flow, shaped for people (RFC 8628 section 6.1).

Imported by the settings, so this module must not import Django models.
"""

import secrets

# Twenty consonants: no vowels to spell words, nothing to confuse (0/O, 1/I), and case does not matter.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8


def generate_user_code() -> str:
    """Like "WDJB-MJHT": 8 of 20 letters, about 34.5 bits, enough for a short-lived code a logged-in user types."""
    letters = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
    return format_user_code(letters=letters)


def format_user_code(*, letters: str) -> str:
    half = USER_CODE_LENGTH // 2
    return f"{letters[:half]}-{letters[half:]}"


def normalize_user_code(*, typed: str) -> str | None:
    """The stored form of a code as a person typed it (any case, spaces or dashes), or None if it cannot be one."""
    letters = "".join(character for character in typed.upper() if character.isalnum())
    if len(letters) != USER_CODE_LENGTH or any(letter not in USER_CODE_ALPHABET for letter in letters):
        return None
    return format_user_code(letters=letters)
