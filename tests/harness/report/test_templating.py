"""The page's prose filter: the analysis writes Markdown-ish words (`code`, *emphasis*) for
summary.md; the page shows the same words as HTML, escaped first."""

from __future__ import annotations

from harness.report.templating import inline_code


def test_code_and_emphasis_become_html_and_the_rest_is_escaped() -> None:
    assert str(inline_code("only blocking code *inside* `async def` serializes")) == (
        "only blocking code <em>inside</em> <code>async def</code> serializes"
    )
    assert str(inline_code("<b> & `x<y`")) == "&lt;b&gt; &amp; <code>x&lt;y</code>"


def test_a_star_that_is_not_emphasis_stays() -> None:
    assert str(inline_code("2 * 40 tokens, `a*b*c`")) == "2 * 40 tokens, <code>a*b*c</code>"
    assert str(inline_code("an unclosed ` tick")) == "an unclosed ` tick"
