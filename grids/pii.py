"""Protection of personal data at rest.

ID numbers (身份证号) and phone numbers are never stored in plain text: each is
kept as a Fernet token (keys from PII_KEYS, newest first, so old tokens still
decrypt after a rotation), an HMAC-SHA256 digest (PII_HASH_KEY) for exact
search, and a mask for display (`510403********123X`, `138****5678`).
"""

import hashlib
import hmac
import re
from datetime import date
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

# The Person fields kept encrypted, with a keyed digest and a mask.
PROTECTED_FIELDS = ("id_number", "phone")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
ID_PATTERN = re.compile(r"^[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]$")
PHONE_PATTERN = re.compile(r"^(1[3-9][0-9]{9}|0[0-9]{2,3}[0-9]{7,8})$")


def id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a GB 11643 citizen ID number."""
    return ID_CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def normalize_id_number(value: str) -> str:
    value = (value or "").strip().upper()
    if not ID_PATTERN.match(value):
        raise ValidationError("身份证号应为18位，前17位为数字，末位为数字或X。ID number must be 18 characters.")
    if id_check_digit(value[:17]) != value[17]:
        raise ValidationError("身份证号校验位不正确。The ID number's check digit is wrong.")
    return value


def born_on(id_number: str) -> date:
    """The birth date a valid ID number encodes (digits 7–14)."""
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def sex_of(id_number: str) -> str:
    """ "M" or "F" as the ID number's 17th digit says (odd: male)."""
    return "M" if int(id_number[16]) % 2 else "F"


def normalize_phone(value: str) -> str:
    value = re.sub(r"[\s\-()+]", "", value or "")
    if value.startswith("86") and len(value) == 13:
        value = value[2:]
    if not PHONE_PATTERN.match(value):
        raise ValidationError("电话号码格式不正确。Phone must be an 11-digit mobile or an area-code landline.")
    return value


def mask_id_number(value: str) -> str:
    return value[:6] + "*" * 8 + value[14:]


def mask_phone(value: str) -> str:
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            "PII_KEYS is not set: personal data cannot be encrypted (make run writes one to .env)."
        )
    return MultiFernet([Fernet(key.encode()) for key in keys])


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.PII_KEYS))


def encrypt(value: str) -> str:
    return cipher().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    return cipher().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """Re-encrypt a token under the newest key."""
    return cipher().rotate(token.encode()).decode()


def digest(value: str) -> str:
    if not settings.PII_HASH_KEY:
        raise ImproperlyConfigured("PII_HASH_KEY is not set.")
    return hmac.new(settings.PII_HASH_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def protected_id_number(value: str) -> dict[str, str]:
    """The Person fields that hold an ID number, from the plain value."""
    value = normalize_id_number(value)
    return {
        "id_number_cipher": encrypt(value),
        "id_number_digest": digest(value),
        "id_number_masked": mask_id_number(value),
    }


def protected_phone(value: str) -> dict[str, str]:
    if not value:
        return {"phone_cipher": "", "phone_digest": "", "phone_masked": ""}
    value = normalize_phone(value)
    return {"phone_cipher": encrypt(value), "phone_digest": digest(value), "phone_masked": mask_phone(value)}
