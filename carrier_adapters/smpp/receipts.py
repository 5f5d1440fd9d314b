"""SMSC delivery receipts: deliver_sm with ``esm_class`` message type 0x04.

The receipt text (SMPP 3.4 appendix B, SMSC-specific in practice) reads
``id:<id> sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD err:000
text:...``. :func:`parse_receipt` accepts its keys in any case, in any order before ``text:``,
and without ``text:``; only ``id`` and ``stat`` are required. :func:`receipt_of` prefers the
``receipted_message_id`` and ``message_state`` TLVs to the text when the SMSC sends them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from carrier_adapters.pdu import PduError
from carrier_adapters.smpp.pdus import (
    DATA_CODING_UCS2,
    ESM_CLASS_RECEIPT,
    DeliverSm,
    MessageState,
    NetworkErrorCode,
    Tlvs,
)

__all__ = [
    "STAT_BY_STATE",
    "DeliveryReceipt",
    "format_receipt",
    "parse_receipt",
    "receipt_of",
    "receipt_pdu",
]

STAT_BY_STATE: dict[int, str] = {
    MessageState.ENROUTE: "ENROUTE",
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
}
"""The receipt ``stat:`` word of each ``message_state``."""
_STATE_BY_STAT = {stat: MessageState(state) for state, stat in STAT_BY_STATE.items()}

_TEXT = re.compile(r"(?:^|\s)text:", re.IGNORECASE)
_FIELDS = {
    "id": re.compile(r"(?:^|\s)id:(\S*)", re.IGNORECASE),
    "sub": re.compile(r"(?:^|\s)sub:(\S*)", re.IGNORECASE),
    "dlvrd": re.compile(r"(?:^|\s)dlvrd:(\S*)", re.IGNORECASE),
    "submit_date": re.compile(r"(?:^|\s)submit[ _]date:(\d*)", re.IGNORECASE),
    "done_date": re.compile(r"(?:^|\s)done[ _]date:(\d*)", re.IGNORECASE),
    "stat": re.compile(r"(?:^|\s)stat:(\S*)", re.IGNORECASE),
    "err": re.compile(r"(?:^|\s)err:(\S*)", re.IGNORECASE),
}


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """One receipt: the SMSC's ``message_id`` and final ``stat`` word, the rest as sent.

    ``stat`` is upper case (``DELIVRD``, ``EXPIRED``, ``DELETED``, ``UNDELIV``, ``ACCEPTD``,
    ``UNKNOWN``, ``REJECTD``, ``ENROUTE``); dates are ``YYMMDDhhmm`` as sent (empty if absent).
    """

    message_id: str
    stat: str
    err: str = "000"
    sub: str = "001"
    dlvrd: str = "000"
    submit_date: str = ""
    done_date: str = ""
    text: str = ""
    network_error_code: NetworkErrorCode | None = None

    @property
    def state(self) -> MessageState | None:
        """The ``message_state`` this ``stat`` names, ``None`` for an SMSC-specific word."""
        return _STATE_BY_STAT.get(self.stat)


def parse_receipt(text: str) -> DeliveryReceipt:
    """The receipt in ``text``; ``PduError`` when it has no ``id:`` or no ``stat:``."""
    match = _TEXT.search(text)
    head, tail = (text[: match.start()], text[match.end() :]) if match else (text, "")
    values: dict[str, str] = {}
    for name, pattern in _FIELDS.items():
        found = pattern.search(head)
        if found is not None:
            values[name] = found.group(1)
    if not values.get("id") or not values.get("stat"):
        raise PduError("delivery receipt text without id or stat")
    return DeliveryReceipt(
        message_id=values["id"],
        stat=values["stat"].upper(),
        err=values.get("err", ""),
        sub=values.get("sub", ""),
        dlvrd=values.get("dlvrd", ""),
        submit_date=values.get("submit_date", ""),
        done_date=values.get("done_date", ""),
        text=tail,
    )


def format_receipt(receipt: DeliveryReceipt) -> str:
    """The receipt text in the appendix B layout, ``text:`` last."""
    return (
        f"id:{receipt.message_id} sub:{receipt.sub} dlvrd:{receipt.dlvrd}"
        f" submit date:{receipt.submit_date} done date:{receipt.done_date}"
        f" stat:{receipt.stat} err:{receipt.err} text:{receipt.text}"
    )


def receipt_of(pdu: DeliverSm) -> DeliveryReceipt:
    """The receipt a deliver_sm carries, TLVs first; ``PduError`` if it carries none.

    The text is read from ``short_message`` or ``message_payload``, as UCS-2 when
    ``data_coding`` is 8 and as Latin-1 otherwise. Without readable text, the
    ``receipted_message_id`` and ``message_state`` TLVs alone make the receipt.
    """
    if not pdu.is_receipt:
        raise PduError("deliver_sm is not a delivery receipt")
    tlvs = pdu.tlvs
    raw = tlvs.message_payload if tlvs.message_payload is not None else pdu.short_message
    try:
        parsed: DeliveryReceipt | None = parse_receipt(_text(raw, pdu.data_coding))
    except PduError:
        parsed = None
    message_id = tlvs.receipted_message_id or (parsed.message_id if parsed else "")
    stat = STAT_BY_STATE.get(tlvs.message_state or 0) or (parsed.stat if parsed else "")
    if not message_id or not stat:
        raise PduError("delivery receipt without a message id or a state")
    base = parsed or DeliveryReceipt(message_id, stat, err="", sub="", dlvrd="")
    return DeliveryReceipt(
        message_id=message_id,
        stat=stat,
        err=base.err,
        sub=base.sub,
        dlvrd=base.dlvrd,
        submit_date=base.submit_date,
        done_date=base.done_date,
        text=base.text,
        network_error_code=tlvs.network_error_code,
    )


def receipt_pdu(receipt: DeliveryReceipt, source_addr: str, destination_addr: str) -> DeliverSm:
    """The deliver_sm an SMSC sends for ``receipt``: its text (Latin-1) and both TLVs.

    ``source_addr`` is the handset that received the message, ``destination_addr`` the
    submit's sender. ``message_state`` is sent only for a ``stat`` that names one.
    """
    try:
        text = format_receipt(receipt).encode("latin-1")
    except UnicodeEncodeError:
        raise PduError("receipt text is not Latin-1") from None
    return DeliverSm(
        source_addr=source_addr,
        destination_addr=destination_addr,
        short_message=text,
        esm_class=ESM_CLASS_RECEIPT,
        tlvs=Tlvs(
            receipted_message_id=receipt.message_id,
            message_state=receipt.state,
            network_error_code=receipt.network_error_code,
        ),
    )


def _text(raw: bytes, data_coding: int) -> str:
    if data_coding == DATA_CODING_UCS2:
        return raw.decode("utf-16-be", errors="replace")
    return raw.decode("latin-1")
