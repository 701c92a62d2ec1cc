"""The fields PDU bodies are made of: C-octet strings (ASCII, NUL-terminated, bounded by the
specification's maximum *including* the NUL), times, one-octet integers; and `Reader`, which reads
a body front to back and raises `PduError` for every way of running out of bytes."""

from __future__ import annotations

from gateways.smpp.codes import CommandStatus, PduError


def cstring(name: str, value: str, max_octets: int) -> bytes:
    """A C-octet string; ``max_octets`` counts the terminating NUL, as the specification does."""
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise PduError(f"{name} must be ASCII, got {value!r}") from None
    if b"\x00" in raw:
        raise PduError(f"{name} must not contain NUL")
    if len(raw) + 1 > max_octets:
        raise PduError(f"{name} {value!r} is longer than {max_octets - 1} characters")
    return raw + b"\x00"


def time_string(name: str, value: str) -> bytes:
    if len(value) not in (0, 16):
        raise PduError(f"{name} is empty or 16 characters (YYMMDDhhmmsstnnp), got {value!r}")
    return cstring(name, value, 17)


def u8s(**fields: int) -> bytes:
    for name, value in fields.items():
        if not 0 <= value <= 0xFF:
            raise PduError(f"{name} must fit in one octet, got {value!r}")
    return bytes(fields.values())


class Reader:
    """Reads a body front to back; every way of running out of bytes raises PduError."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def u8(self, name: str) -> int:
        if self.remaining() < 1:
            raise PduError(f"body ends before {name}", CommandStatus.ESME_RINVMSGLEN)
        self.pos += 1
        return self.data[self.pos - 1]

    def octets(self, name: str, count: int) -> bytes:
        if self.remaining() < count:
            raise PduError(
                f"{name} needs {count} octets, {self.remaining()} left",
                CommandStatus.ESME_RINVMSGLEN,
            )
        self.pos += count
        return self.data[self.pos - count : self.pos]

    def cstring(self, name: str, max_octets: int) -> str:
        end = self.data.find(b"\x00", self.pos, self.pos + max_octets)
        if end < 0:
            raise PduError(f"{name}: no NUL terminator within {max_octets} octets")
        value = self.data[self.pos : end].decode("latin-1")  # lossless; peers are not all ASCII
        self.pos = end + 1
        return value

    def end(self, what: str) -> None:
        if self.remaining():
            raise PduError(f"{what}: {self.remaining()} unexpected octets at the end")
