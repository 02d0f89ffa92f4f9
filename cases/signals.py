"""Signals sent after a case change has been committed (never inside the transaction)."""

from django.dispatch import Signal

case_created = Signal()  # kwargs: case_id
case_transitioned = Signal()  # kwargs: case_id, action, to_state
