"""Turn the bytes of a delivered file into UTF-8 CSV text: gzip, BOMs, encodings, delimiters.

Exports arrive as Excel, HubSpot, Salesforce or a script wrote them: gzip-compressed or
not, UTF-8 with or without a byte-order mark, UTF-16 ("Unicode text"), or Windows-1252;
separated by commas, semicolons (European Excel), tabs or pipes.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from dataclasses import dataclass

GZIP_MAGIC = b"\x1f\x8b"
DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class DecodedText:
    """The file as UTF-8 bytes without BOM, the encoding it was in and its delimiter."""

    data: bytes
    encoding: str
    delimiter: str


class UndecodableError(ValueError):
    """The bytes are not a gzip stream although they say so."""


def decompress(data: bytes) -> bytes:
    """Gunzip when the bytes are gzip (by content, not by file name)."""
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as err:
        raise UndecodableError(f"gzip stream is damaged or cut short ({err})") from err


def to_utf8(data: bytes) -> tuple[bytes, str]:
    """UTF-8 bytes without BOM, and the encoding found: utf-8, utf-16 or windows-1252."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :], "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16").encode("utf-8"), "utf-16"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        # Not UTF-8: Excel on Windows writes cp1252; its 5 undefined bytes fall back to latin-1.
        try:
            return data.decode("cp1252").encode("utf-8"), "windows-1252"
        except UnicodeDecodeError:
            return data.decode("latin-1").encode("utf-8"), "latin-1"
    return data, "utf-8"


def sniff_delimiter(data: bytes) -> str:
    """The delimiter of the header line: the candidate it contains most often (comma on ties)."""
    header = data.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def decode_csv(data: bytes) -> DecodedText:
    text, encoding = to_utf8(decompress(data))
    return DecodedText(text, encoding, sniff_delimiter(text))
