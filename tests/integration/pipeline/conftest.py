"""A running discovery (built from the factory) on a real nats-server."""
from __future__ import annotations

import pytest

from weft.cli import endpoint
from weft.discovery.app import build_app
from weft.discovery.config import DiscoveryConfig



@pytest.fixture
async def discovery(nats_server, tmp_path, monkeypatch):
    cfg = DiscoveryConfig(data_dir=tmp_path / "weft", nats_url=nats_server.url)
    app = build_app(cfg)
    await app.start()
    run_file = tmp_path / "weft.json"
    endpoint.write(endpoint.Endpoint(nats_url=nats_server.url, gateway=app.gateway,
                                     ingest=f"http://127.0.0.1:{app.http_port}",
                                     data_dir=str(cfg.data_dir)), run_file)
    monkeypatch.setenv("WEFT_ENDPOINT", str(run_file))
    monkeypatch.setenv("WEFT_DATA_DIR", str(cfg.data_dir))
    yield app
    if app.ready:
        await app.stop()


