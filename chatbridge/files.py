"""Files in chats: what a visitor or agent may upload, and how they are served back.

A declared media type is believed only when the file's first bytes agree (a PNG that
is really HTML is refused), and files are always served with ``nosniff`` and a
sandboxing CSP; only the common raster images are shown inline, everything else is
a download. SVG is never inline (it can carry script).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

__all__ = ["INLINE_TYPES", "FileRefused", "Upload", "check_upload", "file_response",
           "read_limited", "safe_name"]

INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_CHUNK = 64 * 1024

_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
}


class FileRefused(Exception):
    """``status``: 413 too large, 415 type not allowed or not what it says, 422 empty."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Upload:
    name: str
    content_type: str
    data: bytes
    sha256: str

    @property
    def image(self) -> bool:
        return self.content_type in INLINE_TYPES


def safe_name(name: str | None, content_type: str) -> str:
    """A file name fit for a header and a transcript: no path, no control characters."""
    text = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", text).strip(" .")[:120]
    if not text:
        text = "image" if content_type.startswith("image/") else "file"
    return text


def _matches(content_type: str, data: bytes) -> bool:
    if content_type == "image/webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if content_type.startswith("text/"):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return b"\x00" not in data
    magic = _MAGIC.get(content_type)
    return magic is None or data.startswith(magic)


def check_upload(name: str | None, content_type: str, data: bytes, *,
                 allowed: tuple[str, ...], max_bytes: int) -> Upload:
    content_type = content_type.split(";", 1)[0].strip().lower()
    if not data:
        raise FileRefused(422, "the file is empty")
    if len(data) > max_bytes:
        raise FileRefused(413, f"the file is larger than {max_bytes} bytes")
    if content_type not in allowed:
        raise FileRefused(415, f"{content_type or 'this type'} is not accepted; "
                               f"accepted: {', '.join(allowed)}")
    if not _matches(content_type, data):
        raise FileRefused(415, f"the file is not really {content_type}")
    return Upload(safe_name(name, content_type), content_type, data,
                  hashlib.sha256(data).hexdigest())


async def read_limited(request: web.Request, max_bytes: int) -> bytes:
    """The request body, refused (413) as soon as it passes ``max_bytes``."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise FileRefused(413, f"the file is larger than {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FileRefused(413, f"the file is larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def file_response(name: str, content_type: str, data: bytes) -> web.Response:
    inline = content_type in INLINE_TYPES
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")

    disposition = (f"{'inline' if inline else 'attachment'}; filename=\"{ascii_name}\"; "
                   f"filename*=UTF-8''{quote(name)}")
    return web.Response(body=data, content_type=content_type, headers={
        "Content-Disposition": disposition, "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600"})
