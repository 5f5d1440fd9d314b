"""Building blocks of the operators' binary SMS protocols (CMPP, SGIP, SMGP, SMPP).

All four are big-endian and length-prefixed: a PDU starts with a ``uint32`` total length that
counts the header. :class:`FrameBuffer` cuts a byte stream into whole PDUs; :class:`PduWriter`
and :class:`PduReader` build and parse fields. A PDU that breaks its protocol raises
:class:`PduError`; the session that read it decides what that means for the connection.
"""

from __future__ import annotations

from carrier_adapters.pdu.fields import PduError, PduReader, PduWriter
from carrier_adapters.pdu.framing import FrameBuffer

__all__ = ["FrameBuffer", "PduError", "PduReader", "PduWriter"]
