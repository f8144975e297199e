"""Two factors (SPEC §1) with django-otp: one TOTP authenticator per user and ten single-use recovery codes.

Enrolment makes an unconfirmed TOTP device, shows its QR code (segno, inline SVG) and secret, and confirms it
with a code the app shows; the recovery codes are shown once. Every change is in the audit log.
`manage.py staff_user <name> --remove-two-factor` is the recovery for a lost authenticator and codes."""

import re

import segno
from django.db import transaction
from django.db.models import Exists
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .audit import audit_record
from .errors import DomainError
from .models import AuditAction

RECOVERY_CODES = 10
OBJECT_TYPE = "two-factor sign-in"
TOTP_NAME = "Authenticator"
RECOVERY_NAME = "Recovery codes"
_TOTP_CODE = re.compile(r"^\d{6}$")


def authenticator(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def is_enrolled(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def enrolled(user_ref):
    """is_enrolled as a subquery, for a list of users (`user_ref`: OuterRef("pk"))."""
    return Exists(TOTPDevice.objects.filter(user=user_ref, confirmed=True))


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def verify(user, code: str):
    """The device that accepts `code` (six digits: the authenticator; otherwise a recovery code, used up), or
    None. Each device counts its own wrong codes and makes the next try wait longer (django-otp)."""
    code = re.sub(r"\s+", "", code or "")
    if not code or user is None:
        return None
    model = TOTPDevice if _TOTP_CODE.match(code) else StaticDevice
    with transaction.atomic():
        device = model.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is not None and device.verify_token(code.lower() if model is StaticDevice else code):
            return device
    return None


def start(user) -> TOTPDevice:
    """A new, unconfirmed authenticator for the enrolment page (an earlier unconfirmed one is replaced)."""
    if is_enrolled(user):
        raise DomainError("Two-factor sign-in is already on. Turn it off first to move to a new authenticator.")
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def pending(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// address as an inline SVG QR code (no image request, nothing inline for the CSP)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#000", light="#fff")


def secret(device: TOTPDevice) -> str:
    """The key in base32 in groups of four, for typing it in instead of scanning."""
    from base64 import b32encode

    text = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


@transaction.atomic
def confirm(user, code: str) -> list[str]:
    """Turn two factors on with the first code the authenticator shows; returns the recovery codes (shown once)."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        raise DomainError("Start the set-up again: there is no authenticator waiting to be confirmed.")
    code = re.sub(r"\s+", "", code or "")
    if not _TOTP_CODE.match(code) or not device.verify_token(code):
        raise DomainError("That code is not right. Enter the six digits your authenticator shows now.", field="code")
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user)
    audit_record(action=AuditAction.TWO_FACTOR_ENROLLED, object_type=OBJECT_TYPE, object_id=user.pk,
                 object_repr=user.get_username(), before={"enrolled": False},
                 after={"enrolled": True, "recovery_codes": len(codes)})
    return codes


def _new_recovery_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def renew_recovery_codes(user) -> list[str]:
    if not is_enrolled(user):
        raise DomainError("Turn two-factor sign-in on first.")
    left = recovery_codes_left(user)
    codes = _new_recovery_codes(user)
    audit_record(action=AuditAction.RECOVERY_CODES_RENEWED, object_type=OBJECT_TYPE, object_id=user.pk,
                 object_repr=user.get_username(), before={"recovery_codes": left},
                 after={"recovery_codes": len(codes)})
    return codes


@transaction.atomic
def remove_two_factor(user) -> bool:
    """Turn two factors off: the authenticator and the recovery codes are deleted. False if there were none."""
    had = is_enrolled(user)
    deleted = TOTPDevice.objects.filter(user=user).delete()[0] + StaticDevice.objects.filter(user=user).delete()[0]
    if had:
        audit_record(action=AuditAction.TWO_FACTOR_REMOVED, object_type=OBJECT_TYPE, object_id=user.pk,
                     object_repr=user.get_username(), before={"enrolled": True}, after={"enrolled": False})
    return bool(had or deleted)
