"""Low-level HTTP/1.1 helpers: chunked bodies in and out, abrupt connection reset."""

import socket
import struct


class BadRequestBody(Exception):
    """The request body framing is broken."""


def read_body(rfile, headers):
    """Read a request body by Content-Length, or de-chunk Transfer-Encoding: chunked."""
    te = (headers.get("Transfer-Encoding") or "").lower()
    if "chunked" in te:
        return _read_chunked(rfile)
    length = headers.get("Content-Length")
    if length is None:
        return b""
    try:
        size = int(length)
    except ValueError:
        raise BadRequestBody("bad Content-Length") from None
    body = rfile.read(size)
    if len(body) != size:
        raise BadRequestBody("short body")
    return body


def _read_chunked(rfile):
    parts = []
    while True:
        line = rfile.readline(65537)
        if not line:
            raise BadRequestBody("eof in chunk size")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadRequestBody("bad chunk size") from None
        if size == 0:
            while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        data = rfile.read(size)
        if len(data) != size:
            raise BadRequestBody("short chunk")
        parts.append(data)
        rfile.readline(3)


def write_chunk(wfile, data):
    """Write ``data`` as one HTTP chunk and flush it."""
    if data:
        wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        wfile.flush()


def end_chunks(wfile):
    """Write the terminating zero-length chunk."""
    wfile.write(b"0\r\n\r\n")
    wfile.flush()


def reset(sock):
    """Close ``sock`` abruptly (SO_LINGER 0 makes the kernel send an RST)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
