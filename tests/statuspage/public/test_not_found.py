"""Addresses nobody serves answer 404 in the form their caller reads: JSON a browser script may
read under /api/, the site's own page elsewhere; and the site has a favicon."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize("path", ["/api/v2/nope.json", "/api/v2/subscribers.json", "/api/nope"])
async def test_an_unknown_api_path_is_a_json_404_any_origin_may_read(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path, headers={"Origin": "https://wallet.example"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not Found", "field": None}
    }


async def test_a_wrong_method_on_the_public_api_is_405_with_cors(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v2/summary.json")
    assert response.status_code == 405
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/api/v2/summary.json", "/api/v2/incidents/unresolved.json"])
async def test_the_preflight_of_a_real_api_path_still_allows_any_origin(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.options(
        path,
        headers={"Origin": "https://wallet.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]


async def test_an_unknown_page_is_the_sites_styled_404_in_the_readers_language(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/nope", "/incidents/unknown"):
        english = await client.get(path)
        assert english.status_code == 404, path
        assert english.headers["content-type"] == "text/html; charset=utf-8"
        assert "<h1>Not found</h1>" in english.text, path
        assert '<link rel="stylesheet" href="/static/site.css' in english.text
        chinese = await client.get(path, headers={"Accept-Language": "zh-CN"})
        assert '<html lang="zh-CN">' in chinese.text, path
    assert "content-security-policy" in (await client.get("/nope")).headers


async def test_the_site_has_a_favicon_every_page_links(client: httpx.AsyncClient) -> None:
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    assert '<link rel="icon" href="/favicon.ico"' in (await client.get("/")).text
