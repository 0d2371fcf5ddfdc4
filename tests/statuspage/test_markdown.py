"""Staff Markdown renders to HTML that cannot run script or smuggle markup."""

from __future__ import annotations

import pytest

from statuspage.markdown import render


def test_ordinary_markdown_renders() -> None:
    html = render("## Cause\n\nA **node** lagged.\n\n- resync\n- [details](https://example.com/x)")
    assert html == (
        "<h3>Cause</h3>\n<p>A <strong>node</strong> lagged.</p>\n<ul>\n<li>resync</li>\n"
        '<li><a href="https://example.com/x" rel="noopener noreferrer nofollow">details</a></li>\n'
        "</ul>\n"
    )


@pytest.mark.parametrize(
    ("source", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script"),
        ("<img src=x onerror=alert(1)>", "<img"),
        ("[click](javascript:alert(1))", 'href="javascript'),
        ("[click](data:text/html;base64,PHNjcmlwdD4=)", 'href="data'),
        ('<a href="https://evil.example" onclick="steal()">x</a>', "<a href"),
        ("<iframe src=https://evil.example></iframe>", "<iframe"),
        ('<div style="position:fixed">fake login</div>', "<div"),
    ],
)
def test_hostile_markup_is_neutralised(source: str, forbidden: str) -> None:
    assert forbidden not in render(source)


def test_chinese_text_is_kept() -> None:
    assert (
        render("节点已同步，**提现**正在发出。")
        == "<p>节点已同步，<strong>提现</strong>正在发出。</p>\n"
    )
