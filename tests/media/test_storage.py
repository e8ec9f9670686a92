"""Storage behind one interface: a local folder and an S3-compatible server (moto's, speaking the
S3 wire protocol on a loopback port), the same code path for both."""

from __future__ import annotations

import hashlib
import os
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
import uvicorn
from litestar import Litestar, Response, get
from moto.server import ThreadedMotoServer

from backend.config import Settings
from backend.core.embedded_redis import free_port
from backend.media.fetching import FetchError, fetch_cloud_media, fetch_link
from backend.media.storage import MediaStorage, key_for
from tests.conftest import login
from tests.media.conftest import customer_sends, media_state, new_media_id
from tests.support.graph_media_standin import TOKEN, GraphMediaStandin
from tests.support.media_samples import ogg_opus, png
from tests.support.servers import LiveWorker, start_server

BUCKET = "switchboard-media"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    httpx.put(f"{endpoint}/{BUCKET}", timeout=10).raise_for_status()  # create the bucket
    yield endpoint
    server.stop()


def s3_settings(settings: Settings, endpoint: str) -> Settings:
    return settings.model_copy(update={
        "media_storage_url": f"s3://{BUCKET}/media", "s3_endpoint_url": endpoint,
        "aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_region": "us-east-1",
    })  # fmt: skip


@pytest.fixture(params=["file", "s3"])
def storage(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> MediaStorage:
    if request.param == "file":
        chosen = settings.model_copy(update={"media_storage_url": f"file://{tmp_path}/media"})
    else:
        chosen = s3_settings(settings, request.getfixturevalue("s3_endpoint"))
    return MediaStorage.from_settings(chosen)


async def _read(
    storage: MediaStorage, digest: str, start: int = 0, end: int | None = None
) -> bytes:
    return b"".join([chunk async for chunk in storage.read(digest, start, end)])


async def test_files_are_stored_once_by_hash_and_read_in_ranges(storage: MediaStorage) -> None:
    data = png(64, 64)
    digest = await storage.put_bytes(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert await storage.exists(digest)
    assert not await storage.exists(hashlib.sha256(b"nothing").hexdigest())
    assert await storage.put_bytes(data) == digest  # forwarded twice: stored once
    assert await _read(storage, digest) == data
    assert await _read(storage, digest, 10, 20) == data[10:20]
    assert await _read(storage, digest, 30) == data[30:]


async def test_a_large_file_streams_through_a_spool(storage: MediaStorage) -> None:
    """Seven megabytes go through a temporary file (multipart on S3), never whole in memory."""
    block = os.urandom(256 * 1024)
    spool = storage.spool(limit=16 * 1024 * 1024)
    expected = hashlib.sha256()
    for _ in range(28):
        spool.write(block)
        expected.update(block)
    spooled = spool.close()
    assert spooled.sha256 == expected.hexdigest() and spooled.size == 28 * len(block)
    await storage.keep(spooled)
    assert not spooled.path.exists()
    assert await _read(storage, spooled.sha256, 0, 4) == block[:4]
    tail = await _read(storage, spooled.sha256, spooled.size - 5)
    assert tail == block[-5:]


def test_the_spool_stops_past_its_limit(storage: MediaStorage) -> None:
    spool = storage.spool(limit=10)
    spool.write(b"12345")
    with pytest.raises(ValueError, match="larger than 10 bytes"):
        spool.write(b"678901")
    spool.abort()


def test_keys_are_content_addresses() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    assert key_for(digest) == f"sha256/{digest[:2]}/{digest}"


async def test_a_download_into_s3_is_served_from_s3(
    client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker, graph: GraphMediaStandin,
    standin_channel: Any, s3_endpoint: str, app_settings: Settings,
) -> None:  # fmt: skip
    """The Cloud API fetch streams into S3, and a web process configured for S3 serves it."""
    s3 = s3_settings(app_settings, s3_endpoint)
    storage = MediaStorage.from_settings(s3)
    data = ogg_opus(3.0)
    media_id = new_media_id()
    graph.add(media_id, data, "audio/ogg")
    async with httpx.AsyncClient() as http:
        fetched = await fetch_cloud_media(
            http, storage, base_url=graph.base_url, access_token=TOKEN, media_id=media_id
        )
    digest = fetched.spooled.sha256
    await storage.keep(fetched.spooled)
    assert await storage.exists(digest)

    lead = await login(client, await make_agent("lead"))
    message = await customer_sends(client, lead, "voice", media_id)
    url = (await media_state(client, lead, message, "stored"))["media"]["url"]
    s3_web = start_server(s3)
    try:
        async with httpx.AsyncClient(base_url=s3_web.base_url) as other:
            served = await other.get(url, headers={**lead, "Range": "bytes=4-11"})
            assert served.status_code == 206 and served.content == data[4:12]
            whole = await other.get(url, headers=lead)
            assert whole.content == data
    finally:
        s3_web.stop()


@pytest.fixture(scope="module")
def https_files() -> Iterator[tuple[str, trustme.CA, dict[str, tuple[bytes, str]]]]:
    """A file host over real TLS (a test CA's certificate for 127.0.0.1), as Ultramsg's CDN is."""
    ca = trustme.CA()
    files: dict[str, tuple[bytes, str]] = {}

    @get("/files/{name:str}")
    async def serve(name: str) -> Response[bytes]:
        if name not in files:
            return Response(b"gone", status_code=404, media_type="text/plain")
        data, mime = files[name]
        return Response(data, media_type=mime)

    app = Litestar([serve], debug=False, logging_config=None)
    with ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.tempfile() as pem:
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                                lifespan="off", ssl_certfile=pem, ssl_keyfile=pem)  # fmt: skip
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        yield f"https://127.0.0.1:{port}/files", ca, files
        server.should_exit = True
        thread.join(timeout=10)


async def test_an_ultramsg_https_link_is_fetched_streamed_and_stored(
    https_files: tuple[str, trustme.CA, dict[str, tuple[bytes, str]]], storage: MediaStorage
) -> None:
    base, ca, files = https_files
    photo = png(90, 60, (10, 160, 90))
    files["parcel.png"] = (photo, "image/png")
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    async with httpx.AsyncClient(verify=trusting) as http:
        fetched = await fetch_link(http, storage, f"{base}/parcel.png")
        await storage.keep(fetched.spooled)
        assert fetched.mime_type == "image/png"
        assert (fetched.spooled.size, fetched.spooled.sha256) == (
            len(photo),
            hashlib.sha256(photo).hexdigest(),
        )
        assert await _read(storage, fetched.spooled.sha256) == photo
        with pytest.raises(FetchError) as gone:  # the CDN no longer has it: permanent
            await fetch_link(http, storage, f"{base}/expired.png")
        assert gone.value.retryable is False and "404" in gone.value.reason
    async with httpx.AsyncClient() as untrusting:  # a certificate nobody vouches for is refused
        with pytest.raises(FetchError) as refused:
            await fetch_link(untrusting, storage, f"{base}/parcel.png")
        assert "ConnectError" in refused.value.reason
