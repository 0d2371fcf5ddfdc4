"""Reading a console upload as it arrives: the fields before the file are checked before any
of the file is kept, and the body is counted, so a chunked upload stops at the limit too."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request


class TooLarge(Exception):
    """The body passed the limit; reading stopped there."""


async def parse(
    request: Request, *, limit: int, before_file: Callable[[FormData], None]
) -> FormData:
    """The multipart form, its file spooled to disk as it arrives. `before_file` sees the
    fields read so far when the file's part begins, and may raise to refuse the form before
    a byte of the file is written; past `limit` bytes of body, TooLarge."""
    parser = _FieldsFirst(request, _counted(request.stream(), limit), before_file=before_file)
    try:
        return await parser.parse()  # which closes the spooled file if anything raises
    except MultiPartException as error:  # as Starlette's own request.form() answers
        raise HTTPException(400, detail=error.message) from error


class _FieldsFirst(MultiPartParser):
    def __init__(
        self,
        request: Request,
        stream: AsyncGenerator[bytes, None],
        *,
        before_file: Callable[[FormData], None],
    ) -> None:
        super().__init__(request.headers, stream, max_files=1, max_fields=20)
        self._before_file = before_file

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        if self._current_part.file is not None:  # a file's part: its bytes come next
            self._before_file(FormData(self.items))


async def _counted(stream: AsyncIterator[bytes], limit: int) -> AsyncGenerator[bytes, None]:
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise TooLarge
        yield chunk
