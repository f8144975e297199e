"""Every write happens once (SPEC §5, once only; SPEC §9). Two doors, one mechanism:

- an API POST that carries an `Idempotency-Key` header: the same key with the same request answers the first
  answer (status and body, with `Idempotent-Replayed: true`) and does nothing; the same key with another
  request is refused with 422; keys are kept per user for at least 24 hours (`KEEP`);
- a page form that carries a one-time token (`{% once_token %}`): a second click, a resubmitted page or the back
  button replays the first answer — the redirect to what was saved — with a note that nothing was done twice
  (a page reached with the back button takes back the token its form was sent with: engage.js).

The key is inserted at the start of the request's transaction and its answer stored at the end, in the same
transaction as the write: a second request with the key waits on the first's row (the unique index) and then
reads its answer, on PostgreSQL and on SQLite alike. An answer that is not a decision is not kept, so the same
key may be tried again: a server error (5xx), a refusal of who asks (401, 403, 429), and for a page anything
but a redirect (a refused form shown again, a preview: nothing was written)."""

import hashlib
import re
from datetime import timedelta

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from rest_framework.authentication import get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from .models import OnceKey
from .tokens import ApiTokenAuthentication

HEADER = "Idempotency-Key"
FORM_FIELD = "once_token"
KEEP = timedelta(hours=48)  # at least 24 hours, as promised; pruned daily (prune_once_keys)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no blanks
NOT_KEPT = {401, 403, 429}
REPLAYED = "This was already submitted; nothing was done twice."


class OnceOnlyMiddleware:
    """After authentication and messages; wraps only POSTs that carry a key."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "POST":
            return self.get_response(request)
        api = request.path.startswith("/api/")
        key = request.headers.get(HEADER) if api else request.POST.get(FORM_FIELD)
        if key is None:
            return self.get_response(request)
        if not _KEY.fullmatch(key):
            if api:
                return JsonResponse({"detail": f"{HEADER} must be 1 to 255 printable ASCII characters, no spaces."},
                                    status=400)
            return self.get_response(request)  # a page form's token is ours; a broken one guards nothing
        user = _user(request)
        if user is None:
            return self.get_response(request)  # the view refuses (401, 403, the sign-in page)
        fingerprint = _fingerprint(request, api)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = OnceKey.objects.create(user=user, key=key, fingerprint=fingerprint, status=0)
            except IntegrityError:  # asked before (or at the same moment: the first has committed by now)
                return _replay(request, OnceKey.objects.get(user=user, key=key), fingerprint, api)
            response = self.get_response(request)
            if _kept(response, api):
                record.status, record.location = response.status_code, response.get("Location", "")
                record.content_type = response.get("Content-Type", "")
                record.body = b"" if response.streaming else response.content
                record.save(update_fields=["status", "location", "content_type", "body"])
            else:
                record.delete()
            return response


def _kept(response, api: bool) -> bool:
    if response.status_code >= 500 or response.status_code in NOT_KEPT:
        return False
    return api or 300 <= response.status_code < 400


def _replay(request, record: OnceKey, fingerprint: str, api: bool):
    if record.fingerprint != fingerprint:
        if api:
            return JsonResponse({"detail": f"This {HEADER} was used for another request; use a new key for a "
                                           "new request."}, status=422)
        return HttpResponse(status=409)  # a token of another form: not ours to answer
    if not api:
        messages.info(request, REPLAYED)
    response = HttpResponse(bytes(record.body), status=record.status, content_type=record.content_type or None)
    if record.location:
        response["Location"] = record.location
    response["Idempotent-Replayed"] = "true"
    return response


def _user(request):
    """Who asks: the signed-in user, or the owner of the API token (DRF authenticates inside the view, after
    this middleware); None when neither (the view answers that)."""
    if request.user.is_authenticated:
        return request.user
    auth = get_authorization_header(request).split()
    if len(auth) == 2 and auth[0].lower() == b"token":
        try:
            return ApiTokenAuthentication().authenticate_credentials(auth[1].decode())[0]
        except (AuthenticationFailed, UnicodeDecodeError):
            return None
    return None


def _fingerprint(request, api: bool) -> str:
    """The request a key stands for: for the API its method, path and body; for a page its path (the same
    token is the same form)."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    if api:
        digest.update(request.body)
    return digest.hexdigest()


def prune_once_keys() -> int:
    deleted, _ = OnceKey.objects.filter(created_at__lt=timezone.now() - KEEP).delete()
    return deleted
