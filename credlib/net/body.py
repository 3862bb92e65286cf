"""Reading a response body without ever holding more than the cap plus one chunk."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import httpx


class _Inflater:
    """gzip/deflate decoding with a bound on output, so a compression bomb cannot grow memory."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(wbits)
        self._first = True

    def feed(self, data: bytes, max_out: int) -> bytes:
        try:
            out = self._obj.decompress(data, max_out)
        except zlib.error:
            if not (self._first and self._encoding == "deflate"):
                raise
            # Some servers send raw deflate without the zlib header.
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._obj.decompress(data, max_out)
        self._first = False
        return out


@dataclass
class BodyRead:
    data: bytes
    truncated: bool  # the body was longer than the cap; ``data`` holds the first ``cap`` bytes
    incomplete: bool  # the connection ended before the body did; ``data`` holds what arrived


async def read_capped(response: httpx.Response, cap: int) -> BodyRead:
    try:
        # Transports that hand over an in-memory body (httpx.MockTransport in tests) have already
        # "read" it; there is nothing left to stream.
        ready = response.content
    except httpx.ResponseNotRead:
        pass
    else:
        return BodyRead(ready[:cap], truncated=len(ready) > cap, incomplete=False)
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    inflater = _Inflater(encoding) if encoding in ("gzip", "deflate") else None
    buf = bytearray()
    try:
        async for chunk in response.aiter_raw():
            piece = inflater.feed(chunk, cap - len(buf) + 1) if inflater else chunk
            buf += piece
            if len(buf) > cap:
                return BodyRead(bytes(buf[:cap]), truncated=True, incomplete=False)
    except (httpx.RemoteProtocolError, httpx.ReadError, zlib.error):
        return BodyRead(bytes(buf), truncated=False, incomplete=True)
    return BodyRead(bytes(buf), truncated=False, incomplete=False)
