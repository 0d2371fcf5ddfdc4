"""Pushes an export snapshot to an S3-compatible object store (the `s3` extra: boto3).

Each page is stored gzipped with `Content-Encoding: gzip` (as static-site deploy tools do; every
browser and feed reader accepts it), its live `Content-Type` and `Cache-Control`. An object whose
bytes are already there is not sent again. HTML pages drop their `.html`, so `/incidents/abc`
is the object `incidents/abc`; the home page is `index.html` (the bucket's index document) and
`404.html` its error document. Credentials come the usual boto3 way (its environment variables,
its config files or the instance role).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from statuspage.config import Settings
from statuspage.export.snapshot import ExportError, Page, Snapshot

__all__ = ["object_key", "upload"]

_THREADS = 16
_KEEP_SUFFIX = frozenset({"index.html", "404.html"})


def upload(target: str, site: Snapshot, settings: Settings) -> str:
    """Uploads what changed; returns a line saying where and how much."""
    bucket, prefix = _bucket_and_prefix(target)
    client = _client(settings)
    present = _etags(client, bucket, prefix)
    changed = [page for page in site.pages if present.get(object_key(prefix, page)) != _md5(page)]
    with ThreadPoolExecutor(_THREADS) as pool:
        for _ in pool.map(lambda page: _put(client, bucket, prefix, page), changed):
            pass
    return f"s3://{bucket}/{prefix} ({len(changed)} objects sent, the rest unchanged)"


def object_key(prefix: str, page: Page) -> str:
    path = page.path
    name = path.rsplit("/", 1)[-1]
    if path.endswith(".html") and name not in _KEEP_SUFFIX:
        path = path.removesuffix(".html")
    return f"{prefix}{path}"


def _bucket_and_prefix(target: str) -> tuple[str, str]:
    parts = urlsplit(target)
    prefix = parts.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return parts.netloc, prefix


def _client(settings: Settings) -> Any:
    try:
        import boto3  # the `s3` extra; imported here so the app never needs it
    except ImportError as error:
        raise ExportError(
            "exporting to s3:// needs the s3 extra: pip install 'statuspage[s3]'"
        ) from error
    return boto3.client("s3", endpoint_url=settings.export_s3_endpoint_url or None)


def _etags(client: Any, bucket: str, prefix: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for listing in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in listing.get("Contents", []):
            found[item["Key"]] = item["ETag"].strip('"')
    return found


def _md5(page: Page) -> str:
    """What the store reports as the ETag of a single-part upload of the gzipped body."""
    return hashlib.md5(page.entry.gzipped, usedforsecurity=False).hexdigest()


def _put(client: Any, bucket: str, prefix: str, page: Page) -> None:
    client.put_object(
        Bucket=bucket,
        Key=object_key(prefix, page),
        Body=page.entry.gzipped,
        ContentType=page.header("content-type"),
        CacheControl=page.header("cache-control"),
        ContentEncoding="gzip",
    )
