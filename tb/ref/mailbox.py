"""VF<->PF mailbox messages: the Intel ixgbe encoding (drivers/net/ethernet/intel/ixgbe/
ixgbe_mbx.h), written once for the PF driver model, the VF driver model and the tests.

Word 0 of a message: ``[15:0]`` message type, ``[23:16]`` MSGINFO (a small
argument: multicast count, VLAN add flag), bit 31 ACK, bit 30 NACK, bit 29 CTS
(clear to send: the PF has seen the VF's VF_RESET since its last reset).
Requests carry no status bits; replies repeat the request type with ACK or NACK.
MAC addresses travel as the six bytes copied into the following words,
little-endian (byte 0 of the address in bits [7:0] of word 1), as ``memcpy``
into ``u32 msgbuf[]`` does on x86.

One deviation, because this NIC filters multicast by exact address rather than a
12-bit hash: SET_MULTICAST carries the addresses themselves (MSGINFO = count,
six bytes each, packed from word 1, at most ``MC_MAX_IN_MSG`` = 10).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from tb.ref.regmap import MBX_WORDS

MSGTYPE_ACK = 0x8000_0000
MSGTYPE_NACK = 0x4000_0000
MSGTYPE_CTS = 0x2000_0000
MSGINFO_SHIFT = 16
MSGINFO_MASK = 0xFF << MSGINFO_SHIFT
MSGTYPE_MASK = 0xFFFF
PERMADDR_MSG_LEN = 4
MC_TYPE_WORD = 3
MC_MAX_IN_MSG = (MBX_WORDS - 1) * 4 // 6  # 10 addresses fit in words 1..15
VLAN_VID_MASK = 0xFFF


class MsgType(IntEnum):
    VF_RESET = 0x01
    SET_MAC_ADDR = 0x02
    SET_MULTICAST = 0x03
    SET_VLAN = 0x04
    SET_LPE = 0x05
    SET_MACVLAN = 0x06
    API_NEGOTIATE = 0x08
    GET_QUEUES = 0x09
    UPDATE_XCAST_MODE = 0x0C
    GET_LINK_STATE = 0x10
    PF_CONTROL_MSG = 0x0100


class MboxApi(IntEnum):
    """``enum ixgbe_pfvf_api_rev``: the numbering is not in version order."""

    API_10 = 0
    API_20 = 1
    API_11 = 2
    API_12 = 3
    API_13 = 4
    API_14 = 5
    API_15 = 6


class XcastMode(IntEnum):
    NONE = 0
    MULTI = 1
    ALLMULTI = 2
    PROMISC = 3


class MailboxFormatError(ValueError):
    """A message that cannot be encoded or decoded."""


@dataclass
class MbxMessage:
    """One mailbox message: header fields and payload words 1..15."""

    msg_type: int
    info: int = 0
    ack: bool = False
    nack: bool = False
    cts: bool = False
    payload: list[int] = field(default_factory=list)

    def pack(self) -> list[int]:
        if not 0 <= self.msg_type <= MSGTYPE_MASK or not 0 <= self.info <= 0xFF:
            raise MailboxFormatError(f"type {self.msg_type:#x} / info {self.info} out of range")
        if len(self.payload) > MBX_WORDS - 1:
            raise MailboxFormatError(f"{len(self.payload)} payload words exceed {MBX_WORDS - 1}")
        w0 = (
            self.msg_type
            | self.info << MSGINFO_SHIFT
            | (MSGTYPE_ACK if self.ack else 0)
            | (MSGTYPE_NACK if self.nack else 0)
            | (MSGTYPE_CTS if self.cts else 0)
        )
        return [w0, *(w & 0xFFFF_FFFF for w in self.payload)]

    @classmethod
    def unpack(cls, words: list[int]) -> MbxMessage:
        if not words:
            raise MailboxFormatError("empty message")
        w0 = words[0]
        return cls(
            msg_type=w0 & MSGTYPE_MASK,
            info=(w0 & MSGINFO_MASK) >> MSGINFO_SHIFT,
            ack=bool(w0 & MSGTYPE_ACK),
            nack=bool(w0 & MSGTYPE_NACK),
            cts=bool(w0 & MSGTYPE_CTS),
            payload=list(words[1:]),
        )


def bytes_to_words(data: bytes, nwords: int | None = None) -> list[int]:
    """``memcpy`` of ``data`` into little-endian u32 words (zero padded)."""
    n = nwords if nwords is not None else -(-len(data) // 4)
    if len(data) > 4 * n:
        raise MailboxFormatError(f"{len(data)} bytes do not fit {n} words")
    padded = data + bytes(4 * n - len(data))
    return [int.from_bytes(padded[4 * i : 4 * i + 4], "little") for i in range(n)]


def words_to_bytes(words: list[int], nbytes: int) -> bytes:
    raw = b"".join((w & 0xFFFF_FFFF).to_bytes(4, "little") for w in words)
    if len(raw) < nbytes:
        raise MailboxFormatError(f"{len(words)} words hold fewer than {nbytes} bytes")
    return raw[:nbytes]


def mac_to_words(mac: bytes) -> list[int]:
    return bytes_to_words(mac, 2)


def words_to_mac(words: list[int]) -> bytes:
    return words_to_bytes(words, 6)


def is_multicast(mac: bytes) -> bool:
    return bool(mac[0] & 1)


def is_valid_ether_addr(mac: bytes) -> bool:
    """The kernel's ``is_valid_ether_addr``: not multicast (nor broadcast), not all zero."""
    return len(mac) == 6 and not is_multicast(mac) and mac != bytes(6)


def parse_mac(text: str) -> bytes:
    parts = text.split(":")
    if len(parts) != 6 or not all(len(p) == 2 for p in parts):
        raise MailboxFormatError(f"not a MAC address: {text!r}")
    return bytes(int(p, 16) for p in parts)


def format_mac(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)
