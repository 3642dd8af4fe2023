"""sanitize_html: what staff write in the SPU descriptions, as buyers will get it."""

from __future__ import annotations

import pytest

from chalicelib.richtext import sanitize_html


@pytest.mark.parametrize(
    "kept",
    [
        "<p>一级能效 <strong>风冷无霜</strong> <em>净味</em> <u>保鲜</u> <s>旧价</s><br>新品</p>",
        "<h1>海尔</h1><h2>a</h2><h3>b</h3><h4>c</h4><h5>d</h5><h6>e</h6>",
        '<ul><li>一</li></ul><ol start="3"><li>三</li></ol>',
        '<table border="1"><thead><tr><th colspan="2">参数</th></tr></thead>'
        '<tbody><tr><td>容量</td><td rowspan="1">470升</td></tr></tbody></table>',
        '<img src="https://img.example.com/a.jpg" alt="冰箱" width="750" height="400">',
        '<img src="/media/aa/detail.png" alt="">',
        '<a href="https://shop.example.com/list/1/" title="更多" rel="noopener noreferrer">'
        "更多</a>",
        '<a href="mailto:service@example.com" rel="noopener noreferrer">客服</a>',
        '<p style="text-align:center;color:rgb(255, 0, 0);font-size:14px">居中</p>',
        '<div><span style="font-weight:bold">包装清单</span>：主机×1</div>',
        "",
    ],
)
def test_product_page_formatting_is_kept_as_written(kept: str) -> None:
    assert sanitize_html(kept) == kept


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("<p>好</p><script>alert(1)</script>", "<p>好</p>"),
        ("<style>body{display:none}</style><p>好</p>", "<p>好</p>"),
        ('<img src="x.jpg" onerror="alert(1)">', '<img src="x.jpg">'),
        ('<p onclick="steal()" onmouseover="x()">好</p>', "<p>好</p>"),
        ('<a href="javascript:alert(1)">点</a>', '<a rel="noopener noreferrer">点</a>'),
        ('<a href=" JaVaScRiPt:alert(1)">点</a>', '<a rel="noopener noreferrer">点</a>'),
        ('<a href="vbscript:msgbox(1)">点</a>', '<a rel="noopener noreferrer">点</a>'),
        ('<img src="data:image/png;base64,iVBORw0KGgo=" alt="a">', '<img alt="a">'),
        ('<a href="data:text/html,<b>x</b>">点</a>', '<a rel="noopener noreferrer">点</a>'),
        ('<iframe src="https://evil.example/"></iframe><p>好</p>', "<p>好</p>"),
        ("<form action=/x><input name=a><button>买</button></form>", "买"),
        ("<svg><circle onload=alert(1)></circle></svg>好", "好"),
        ("<!-- 备注 --><p>好</p>", "<p>好</p>"),
        ('<div class="hidden" id="cart">好</div>', "<div>好</div>"),
        ('<p style="position:fixed;top:0;color:red">好</p>', '<p style="color:red">好</p>'),
        ('<p style="background-image:url(https://evil/)">好</p>', "<p>好</p>"),
        ('<span style="color: expression(alert(1))">好</span>', "<span>好</span>"),
        ('<span style="width: calc(100vw)">好</span>', "<span>好</span>"),
        ('<span style="color: r\\65 d">好</span>', "<span>好</span>"),
        ('<a href="https://a.example/" target="_blank" onclick="x()">好</a>',
         '<a href="https://a.example/" rel="noopener noreferrer">好</a>'),
        ("a < b & c", "a &lt; b &amp; c"),
        ("<p>没有闭合", "<p>没有闭合</p>"),
    ],
)  # fmt: skip
def test_scripts_handlers_and_dangerous_urls_are_dropped(written: str, stored: str) -> None:
    assert sanitize_html(written) == stored


def test_sanitizing_twice_changes_nothing_more() -> None:
    once = sanitize_html('<p style="color:red" onclick="x()">a<script>b</script><img src=c.jpg>')
    assert sanitize_html(once) == once == '<p style="color:red">a<img src="c.jpg"></p>'
