"""The one byte range a Range header asks of a file (media elements seek with them; Safari plays nothing without)."""

import re

from django.http import HttpResponse

_RANGE = re.compile(r"bytes=([0-9]{1,15})?-([0-9]{1,15})?")


class Unsatisfiable(Exception):
    """The range starts past the file's end."""


def requested_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte, both included, of a file of `size` bytes; None: the whole file."""
    match = _RANGE.fullmatch(header)
    if not match or not (match[1] or match[2]):
        return None
    if match[1]:
        first, last = int(match[1]), min(int(match[2]) if match[2] else size - 1, size - 1)
    else:
        first, last = max(0, size - int(match[2])), size - 1
    if first >= size or first > last:
        raise Unsatisfiable
    return first, last


def not_satisfiable(size: int) -> HttpResponse:
    response = HttpResponse(status=416)
    response["Content-Range"] = f"bytes */{size}"
    return response


def partial(response: HttpResponse, first: int, last: int, size: int) -> HttpResponse:
    """`response` (its body bytes first..last) marked as that part of the file."""
    response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Accept-Ranges"] = "bytes"
    return response
