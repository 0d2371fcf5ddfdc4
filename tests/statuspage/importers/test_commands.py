"""The commands as staff type them: `statuspage import statuspage URL` and `subscribers`."""

from __future__ import annotations

from pathlib import Path

import pytest

from statuspage.cli.main import main
from tests.receivers import HttpReceiver
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
    assert capsys.readouterr().out.endswith("; 2 already subscribed\n")
