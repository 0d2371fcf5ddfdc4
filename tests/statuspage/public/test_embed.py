"""/embed.js and the /embed frame (issue 18, item 5): the script other sites load, small and
with its words in both languages; the frame any site may embed; the notices API it polls
(CORS exposing the ETag, 304s, filters bounded and made canonical)."""

from __future__ import annotations

import gzip

import httpx

from statuspage.app import create_app
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.public.cache import MAX_VARIANTS_PER_PATH, PublicCache
from tests.statuspage.public.test_networks import _networks, _post, _usdt_trc20_incident


async def test_the_script_is_small_loadable_from_any_site_and_carries_both_languages_words(
    client: httpx.AsyncClient,
) -> None:
    script = await client.get("/embed.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert len(gzip.compress(script.content, compresslevel=9)) < 6 * 1024
    assert script.headers["cache-control"] == "public, max-age=3600"
    assert script.headers["access-control-allow-origin"] == "*"
    assert script.headers["cross-origin-resource-policy"] == "cross-origin"
    again = await client.get("/embed.js", headers={"If-None-Match": script.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    text = script.text
    for words in ('"dismiss": "Dismiss this notice"', '"dismiss": "关闭此公告"', '"colon": "："'):
        assert words in text
    # What a strict host CSP would refuse is not in it: no inline style, no HTML parsing.
    for refused in ("innerHTML", 'setAttribute("style"', ".style.", "eval(", "__WORDS__"):
        assert refused not in text, refused


async def test_the_notices_api_lets_a_poller_of_another_origin_read_the_etag_and_get_304(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    ids = await _networks(client, support)
    url = f"/api/notices.json?components={ids['USDT-TRC20-withdrawal']}&lang=zh-CN"
    first = await client.get(url, headers={"Origin": "https://exchange.example"})
    assert first.headers["access-control-allow-origin"] == "*"
    assert first.headers["access-control-expose-headers"] == "ETag, Last-Modified"
    again = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert (again.status_code, again.headers["access-control-allow-origin"]) == (304, "*")
    preflight = await client.options(
        url,
        headers={
            "Origin": "https://exchange.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-headers"] == "*"


async def test_a_malformed_or_oversized_filter_is_refused_naming_the_field(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    ids = await _networks(client, support)
    one = ids["USDT-TRC20-deposit"]
    too_many = ",".join([str(one)] * 51)
    for query, field in (
        (f"components={too_many}", "components"),
        ("components=x", "components"),
        ("components=0", "components"),
        ("asset=a-b", "asset"),
        ("network=%2F", "network"),
    ):
        for path in ("/api/notices.json", "/embed"):
            answer = await client.get(f"{path}?{query}")
            assert answer.status_code == 400, (path, query)
            assert answer.json()["error"]["field"] == field
    over = (await client.get(f"/api/notices.json?components={too_many}")).json()
    assert over["error"]["message"] == "components: at most 50 ids, got 51"
    fifty = await client.get(f"/api/notices.json?components={','.join([str(one)] * 50)}")
    assert fifty.status_code == 200


async def test_many_distinct_filters_do_not_crowd_the_cache(
    settings: Settings, database: Database, support: dict[str, str]
) -> None:
    app = create_app(settings, database=database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        await _many_filters(client, support, app.running.cache)
    await app.running.cache.close()


async def _many_filters(
    client: httpx.AsyncClient, support: dict[str, str], cache: PublicCache
) -> None:
    ids = await _networks(client, support)
    cache.max_variants = 3
    real = sorted(ids.values())
    subsets = [real[:1], real[:2], real[1:3], real[2:], real[:3], real]
    for subset in subsets:
        answer = await client.get(f"/api/notices.json?components={','.join(map(str, subset))}")
        assert answer.json() == {"language": "en", "notices": []}
    kept = [key for key in cache.entries if key[0] == "/api/notices.json"]
    assert len(kept) == 3
    assert (await client.get("/networks")).status_code == 200
    assert any(key[0] == "/networks" for key in cache.entries)
    assert MAX_VARIANTS_PER_PATH == 1_000


async def test_the_frame_shows_the_notice_in_the_readers_language_and_any_site_may_frame_it(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    ids = await _networks(client, support)
    withdrawal = ids["USDT-TRC20-withdrawal"]
    quiet = await client.get(f"/embed?components={withdrawal}&lang=en")
    assert quiet.status_code == 200
    assert 'class="banner' not in quiet.text
    incident = await _usdt_trc20_incident(client, support, ids)
    english = await client.get(f"/embed?components={withdrawal}&lang=en")
    assert "Incident: USDT-TRC20 withdrawals suspended" in english.text
    assert "Expected resolution: " in english.text
    assert f'href="http://127.0.0.1:8000/incidents/{incident["shortlink"]}"' in english.text
    assert "frame-ancestors *" in english.headers["content-security-policy"]
    # Its script is the embed's, polling for the same filter; without script, the above.
    assert (
        f'<script src="/embed.js" data-lang="en" data-interval="30" data-components="{withdrawal}"'
        in english.text
    )
    assert "<noscript>" in english.text
    assert "x-frame-options" not in english.headers
    assert "set-cookie" not in english.headers
    chinese = await client.get(
        f"/embed?components={withdrawal}", headers={"Accept-Language": "zh-CN,zh;q=0.9"}
    )
    assert "故障：USDT-TRC20 提现暂停" in chinese.text
    assert "预计恢复：" in chinese.text
    # The rest of the site still refuses to be framed.
    assert (await client.get("/networks")).headers["x-frame-options"] == "DENY"
    await _post(client, support, f"/incidents/{incident['id']}/resolve", {"body": "Open again."})
    after = await client.get(f"/embed?components={withdrawal}&lang=en")
    assert 'class="banner' not in after.text
