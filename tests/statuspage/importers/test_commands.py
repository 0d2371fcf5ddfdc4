"""The commands as staff type them: `statuspage import statuspage URL` and `subscribers`."""

from __future__ import annotations

from pathlib import Path

import pytest

from statuspage.cli.main import main
from tests.receivers import HttpReceiver
from tests.statuspage.importers import sites
from tests.statuspage.importers.pages import RecordedPage


@pytest.fixture
def database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "status.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    return path


def test_import_prints_a_dry_run_then_imports_once(
    database_file: Path, http_receiver: HttpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    page = RecordedPage(http_receiver)

    assert main(["import", "statuspage", page.url(), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would import: incident 'Market data is delayed'" in out
    assert out.splitlines()[-1] == (
        "would import 5 components, 2 groups, 2 incidents, 2 maintenances"
        " (dry run: nothing written)"
    )
    assert main(["import", "statuspage", page.url()]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "imported 5 components, 2 groups, 2 incidents, 2 maintenances"
    )
    assert main(["import", "statuspage", page.url()]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "imported nothing new"


def test_a_language_we_do_not_write_is_refused_before_anything_is_read(
    database_file: Path, http_receiver: HttpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    page = RecordedPage(http_receiver)

    assert main(["import", "statuspage", page.url(), "--language", "fr"]) == 2
    assert capsys.readouterr().err == "error: --language: 'fr' is not one of en, zh-CN\n"
    assert http_receiver.received == []


def test_a_source_that_fails_exits_non_zero_naming_the_url(
    database_file: Path, http_receiver: HttpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    page = RecordedPage(http_receiver)
    page.replace("incidents.json", b"not json", 200)

    assert main(["import", "statuspage", page.url()]) == 2
    assert capsys.readouterr().err.startswith(
        f"error: {page.url()}/api/v2/incidents.json: is not JSON"
    )


def test_subscribers_round_trip_through_csv(
    database_file: Path,
    http_receiver: HttpReceiver,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = RecordedPage(http_receiver)
    assert main(["import", "statuspage", page.url()]) == 0
    given = tmp_path / "in.csv"
    given.write_text(
        "address,language,components,confirmed_at\n"
        "Wang.Fang@Example.cn,zh-CN,Deposit;Withdraw,2024-05-01T08:00:00+08:00\n"
        "li@example.com,en,,\n",
        encoding="utf-8",
    )
    assert main(["subscribers", "import", str(given), "--consent-given"]) == 0
    assert "imported 2 subscribers (2 confirmed on staff's word" in capsys.readouterr().out
    out = tmp_path / "out.csv"
    assert main(["subscribers", "export", str(out)]) == 0
    header, wang, li = out.read_text("utf-8").splitlines()
    assert header == "address,language,components,confirmed_at"
    assert wang == "wang.fang@example.cn,zh-CN,Deposit;Withdraw,2024-05-01T00:00:00+00:00"
    assert li.startswith("li@example.com,en,,20")  # confirmed when staff attested it
    assert main(["subscribers", "import", str(out)]) == 0
    assert capsys.readouterr().out.endswith(
        "; 2 already subscribed; 0 left out (unsubscribed before)\n"
    )


def test_cachet_and_uptime_kuma_import_from_the_command_line(
    database_file: Path, http_receiver: HttpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    site = sites.cachet(http_receiver)
    assert main(["import", "cachet", site.url(), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "note: maintenance '数据中心迁移' left out: it has no end time" in out
    assert out[-1] == (
        "would import 5 components, 2 groups, 3 incidents, 2 maintenances"
        " (dry run: nothing written)"
    )
    kuma = sites.uptime_kuma(http_receiver)
    assert main(["import", "uptime-kuma", kuma.url(), "--slug", "exchange"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "imported 4 components, 2 groups, 3 incidents"
    )
    assert main(["import", "uptime-kuma", kuma.url(), "--slug", "exchange"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "imported nothing new"


def test_the_key_comes_from_a_file_or_the_environment_not_only_the_command_line(
    database_file: Path,
    tmp_path: Path,
    http_receiver: HttpReceiver,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = sites.cachet(http_receiver, token="cachet-token")
    assert main(["import", "cachet", site.url(), "--dry-run"]) == 2
    assert ": HTTP 401 (expected 200)" in capsys.readouterr().err
    key_file = tmp_path / "token"
    key_file.write_text("cachet-token\n", encoding="utf-8")
    assert (
        main(["import", "cachet", site.url(), "--dry-run", "--api-token-file", str(key_file)]) == 0
    )
    capsys.readouterr()
    monkeypatch.setenv("STATUSPAGE_IMPORT_API_KEY", "cachet-token")
    assert main(["import", "cachet", site.url(), "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("would import 5 components")
    missing = str(tmp_path / "absent")
    assert main(["import", "cachet", site.url(), "--api-token-file", missing]) == 2
    assert capsys.readouterr().err.startswith("error: --api-token-file: cannot be read:")

    page = RecordedPage(http_receiver)
    monkeypatch.setenv("STATUSPAGE_IMPORT_API_KEY", "test-key")
    args = ["import", "statuspage", page.url(), "--api-url", page.url() + "/v1", "--dry-run"]
    assert main(args) == 0
    assert "2 subscribers" in capsys.readouterr().out.splitlines()[-1]  # the manage API was read
