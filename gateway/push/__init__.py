"""Push messages to quick apps (contract §6): acceptance, dispatch, operator callbacks.

``service`` accepts a send (idempotency, template, opt-out, quiet hours) and writes it in one
transaction; ``dispatch`` is the worker that sends due messages through the operators'
:class:`~carrier_adapters.SmsChannel`; ``callbacks`` applies delivery reports and opt-out replies.
``feature.open_push`` assembles them for the runtime.
"""

from __future__ import annotations

from gateway.push.feature import Push, open_push, sms_channels_of
from gateway.push.states import MessageStatus

__all__ = ["MessageStatus", "Push", "open_push", "sms_channels_of"]
