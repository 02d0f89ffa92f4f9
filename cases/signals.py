"""Signals of case changes.

Sent after the change has been committed (never inside the transaction): `case_created`, `case_transitioned`.
Sent inside the writing transaction, for receivers that must commit with it: `case_event_recorded` (the report
event that `create_case` writes in SQL; events saved through the ORM send post_save), `lights_checked`
(`escalate_overdue` is about to run, at `now`: the notices app tells of lights turned and of 督办 time limits
passed).
"""

from django.dispatch import Signal

case_created = Signal()  # kwargs: case_id
case_transitioned = Signal()  # kwargs: case_id, action, to_state
case_event_recorded = Signal()  # kwargs: event, case
lights_checked = Signal()  # kwargs: now
