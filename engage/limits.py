"""Bounds of values (SPEC §9), written once: models, services, forms, serializers and commands all read
them from here. A value outside them is refused with a DomainError naming its field; nothing is saved."""

import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from .clock import parse_iso_date
from .errors import DomainError

# Money columns are DecimalField(max_digits=12, decimal_places=2); what may be entered is far below that, so
# that price × quantity (a line) always fits its column (max_digits=14) and an invoice's total (18).
MONEY_MAX_DIGITS = 12
MONEY_DECIMAL_PLACES = 2
MAX_AMOUNT = Decimal("999999.99")
MAX_QUANTITY = 10_000
LINE_MAX_DIGITS = 14
TOTAL_MAX_DIGITS = 18

# Business dates: effective dates, start dates, usage dates, statistics periods.
FIRST_DATE = date(1990, 1, 1)
LAST_DATE = date(2199, 12, 31)

ACCOUNT_NAME_MAX_CHARS = 200
EMAIL_MAX_CHARS = 254  # an e-mail address (RFC 5321's path limit)
NUMBER_MAX_CHARS = 40  # an account number as a file or a request gives it (one of ours is far shorter)
SEARCH_MAX_CHARS = 200  # what the accounts list's search box takes
NAME_MAX_CHARS = 100  # a status type's, a status reason's, a collection step's name (SPEC §3)
IMAGE_URL_MAX_CHARS = 500  # a status type's image
NOTE_MAX_CHARS = 2000  # the note on a status change
EXEMPTION_NOTE_MAX_CHARS = 200  # why an account is exempt from collections
PACKAGE_NAME_MAX_CHARS = 100
DESCRIPTION_MAX_CHARS = 200  # a usage record's description, a payment's reference or reason
SUBJECT_MAX_CHARS = 200  # a reminder e-mail's subject
BODY_MAX_CHARS = 5000  # a reminder e-mail's text

# What the system writes of its own on a row, cut to fit.
MESSAGE_MAX_CHARS = 300  # an outcome or a refusal: a bulk item's, an episode's, a step run's; a selection's text
FAILURE_MAX_CHARS = 500  # why a due status change failed
SOURCE_MAX_CHARS = 150  # who asked for a change when no person did ("collection step …")
ACTOR_NAME_MAX_CHARS = 150  # who wrote an audit entry: a user name then, "system" or a job's name
ERROR_MAX_CHARS = 2000  # one error kept on a job or a billing failure
DETAIL_MAX_CHARS = 5000  # what a pass run records of itself

# A note keeps its line breaks and tabs (a textarea sends them); every other Cc or Cf character is refused.
_NOTE_ALLOWED = {"\n", "\t"}
# Refused in any text beside Cc and Cf: the line and paragraph separators (U+2028, U+2029), which break a line
# where nothing shows one (and a JSON string or a CSV cell where nobody expects it), and a lone surrogate (Cs),
# which no database column can hold.
_HIDDEN_CATEGORIES = ("Cc", "Cf", "Zl", "Zp", "Cs")

# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt): drawn as nothing at all. Beside them
# the braille blank U+2800, a symbol that is drawn as an empty cell.
_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
    (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
_BLANK_SYMBOLS = {"\u2800"}


def _ignorable(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _IGNORABLE)


def visible(ch: str) -> bool:
    """A character that shows: a letter, a digit, a punctuation mark or a symbol (Unicode L, N, P, S), and not
    one drawn as nothing (a Hangul filler U+3164, a braille blank U+2800, …)."""
    return unicodedata.category(ch)[0] in "LNPS" and ch not in _BLANK_SYMBOLS and not _ignorable(ch)


def check_date(value, *, field: str, label: str) -> date:
    """A business date from FIRST_DATE to LAST_DATE: a date, or exactly YYYY-MM-DD (clock.parse_iso_date)."""
    if isinstance(value, datetime):
        value = value.date()
    elif not isinstance(value, date):
        try:
            value = parse_iso_date(value)
        except (TypeError, ValueError):
            raise DomainError(f"{label} must be a date (YYYY-MM-DD).", field=field) from None
    if not FIRST_DATE <= value <= LAST_DATE:
        raise DomainError(f"{label} must be from {FIRST_DATE} to {LAST_DATE}.", field=field)
    return value


def check_amount(value, *, field: str, label: str, allow_negative: bool = False) -> Decimal:
    """Whole cents, at most MAX_AMOUNT (and at least −MAX_AMOUNT where negative is allowed); never a float."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        raise DomainError(f"{label} must be a number, like 19.95.", field=field)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(f"{label} must be a number, like 19.95.", field=field) from None
    if not amount.is_finite():
        raise DomainError(f"{label} must be a number, like 19.95.", field=field)
    if amount < 0 and not allow_negative:
        raise DomainError(f"{label} must not be negative.", field=field)
    if amount != amount.quantize(Decimal("0.01")):
        raise DomainError(f"{label} must be in whole cents (at most 2 decimal places).", field=field)
    if abs(amount) > MAX_AMOUNT:
        low = f"−{MAX_AMOUNT:,}" if allow_negative else "0.00"
        raise DomainError(f"{label} must be from {low} to {MAX_AMOUNT:,}.", field=field)
    return amount.quantize(Decimal("0.01"))


def check_quantity(value, *, field: str = "quantity") -> int:
    if isinstance(value, bool):
        value = None
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError):
        raise DomainError("Quantity must be a whole number.", field=field) from None
    if not 1 <= quantity <= MAX_QUANTITY:
        raise DomainError(f"Quantity must be from 1 to {MAX_QUANTITY:,}.", field=field)
    return quantity


def hidden_characters(text: str, *, allowed=frozenset()) -> list[str]:
    """The control and format characters (Unicode Cc, Cf) and the line and paragraph separators (Zl, Zp) of
    `text`, as U+XXXX, except `allowed`."""
    return [
        f"U+{ord(ch):04X}"
        for ch in text
        if ch not in allowed and unicodedata.category(ch) in _HIDDEN_CATEGORIES
    ]


def check_text(value, *, field: str, label: str, max_chars: int, required: bool = False,
               multiline: bool = False) -> str:
    """The one rule for names, notes and descriptions, on pages, in the API and in commands: trimmed; no
    control, invisible formatting or line separator characters (a multiline note keeps its line breaks and
    tabs); at least one visible character when not empty; at most max_chars."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DomainError(f"{label} must be text.", field=field)
    text = value.replace("\r\n", "\n").strip() if multiline else value.strip()
    hidden = hidden_characters(text, allowed=_NOTE_ALLOWED if multiline else frozenset())
    if hidden:
        examples = "right-to-left overrides, zero-width spaces, line separators" if multiline else (
            "tabs, line breaks, right-to-left overrides")
        raise DomainError(f"{label} cannot contain control or invisible formatting characters ({examples}, …): "
                          f"{', '.join(dict.fromkeys(hidden))}.", field=field)
    if required and not text:
        raise DomainError(f"{label} is required.", field=field)
    if text and not any(visible(ch) for ch in text):
        blanks = ", ".join(dict.fromkeys(f"U+{ord(ch):04X}" for ch in text if ch != " "))
        raise DomainError(f"{label} must contain a visible character (a letter, a digit or a sign), not only "
                          f"blanks or fillers: {blanks}.", field=field)
    if len(text) > max_chars:
        raise DomainError(f"{label} must be at most {max_chars} characters (it has {len(text):,}).", field=field)
    return text


def check_email(value, *, field: str = "email", label: str = "E-mail") -> str:
    email = check_text(value, field=field, label=label, max_chars=EMAIL_MAX_CHARS, required=True)
    try:
        validate_email(email)
    except ValidationError:
        raise DomainError(f"{label} must be a valid e-mail address, like name@example.com.", field=field) from None
    return email


MAX_ID = 2**63 - 1  # a bigint id column's largest value


def parse_id(value) -> int | None:
    """A whole number an id column can hold (ASCII digits, at most MAX_ID), else None: "²".isdigit() is true
    and int() of it fails, and 20 nines overflow a bigint in PostgreSQL."""
    text = str(value or "")
    if text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= MAX_ID:
        return int(text)
    return None
