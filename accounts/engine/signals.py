"""Signals the status-change engine sends, for apps above accounts/ (reporting) that may not be imported here."""

from django.dispatch import Signal

# Sent by the engine inside the transaction that applies status changes (single or batch).
# kwargs: rows = list of (effective_date: date, reason_id: int | None, to_backend_status: str), one per applied change.
status_changes_applied = Signal()
