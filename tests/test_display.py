"""course.display: reading text whole, tables people can read and reach, plurals."""

from __future__ import annotations

import pandas as pd
import pytest

import course  # noqa: F401  (importing the course applies the display settings)
from course import data, display

LONG = ("Build human rights into peace agreements from the start, and keep victims and civil "
        "society at the table while they are written.")


def test_importing_the_course_shows_reading_text_whole():
    """pandas cut every cell at 50 characters: "Build human rights into peace agreements from …"
    (issue #16, item 2)."""
    assert pd.get_option("display.max_colwidth") is None
    frame = pd.DataFrame({"paraphrase": [LONG]})
    assert LONG in frame.to_string() and LONG in display.table_html(frame)
    recommendations = data.load("forum_recommendations")
    longest = max(recommendations["paraphrase"], key=len)
    assert len(longest) > 50 and longest in display.table_html(recommendations)


def test_table_html_is_a_labelled_keyboard_reachable_region_that_wraps():
    page = display.table_html(pd.DataFrame({"sha256": ["ab" * 32], "n": [3]}), "Items (1)")
    assert 'role="region"' in page and 'tabindex="0"' in page and 'aria-label="Items (1)"' in page
    assert "<caption>Items (1)</caption>" in page
    assert "overflow-wrap:break-word" in page and "text-align:left" in page
    assert '<td class="num">3</td>' in page and "<wbr>" in page.split("<td>")[1]  # a hash breaks
    assert page.split("<td>")[1].split("</td>")[0].replace("<wbr>", "") == "ab" * 32
    syllabus = display.table_html(pd.DataFrame({"kind": ["module"], "file": [
        "exercises/ex01_warning_signs/ex01_warning_signs.ipynb"], "note": ["a <b> & c"]}))
    assert "<td>module</td>" in syllabus and "exercises/<wbr>ex01_<wbr>warning_<wbr>" in syllabus
    assert "a &lt;b&gt; &amp; c" in syllabus  # text is still escaped
    first, second = display.table_html(pd.DataFrame({"a": [1]})), display.table_html(pd.DataFrame({"a": [1]}))
    assert first.split('id="')[1][:20] != second.split('id="')[1][:20]


def test_no_header_cell_is_left_empty():
    pivot = data.load("scenario_groups").pivot(index="province_id", columns="group", values="share")
    shown, keep_index = display.readable_frame(pivot)
    assert not keep_index and list(shown.columns)[0] == "province_id"
    assert shown["province_id"].iloc[0] == "P01 (Quessmar)"  # people read names, with the code
    page = display.table_html(pivot)
    assert "<th></th>" not in page and "<th>group</th>" not in page
    plain = display.table_html(pd.DataFrame({"a": ["x", "y"]}))
    assert "<th></th>" not in plain and "<th>0</th>" not in plain  # a 0, 1 … index is left out
    labelled = display.table_html(pd.DataFrame({"a": [1]}, index=["level one"]))
    assert "<th></th>" not in labelled and ">row</span></th>" in labelled
    assert "<th>ind</th>" in display.table_html(
        pd.DataFrame({"a": [1]}, index=pd.Index(["x"], name="ind")), index=True)


def test_whole_numbers_show_as_whole_numbers():
    frame = pd.DataFrame({"count": [1000.0, 2.0, None], "share": [0.25, 0.5, 1.0],
                          "people": [808000.0, 372000.0, 5.0]})
    page = display.table_html(frame)
    assert ">1000<" in page and "1000.0" not in page and ">0.25<" in page and "–" in page
    assert ">808,000<" in page and ">5<" in page


def test_a_long_frame_shows_its_first_and_last_rows():
    frame = pd.DataFrame({"n": range(500)})
    page = display.table_html(frame, "Numbers")
    assert "of 500 rows shown" in page and ">499<" in page and ">250<" not in page


@pytest.mark.parametrize("count, noun, expected", [
    (1, "country", "1 country"), (2, "country", "2 countries"), (0, "item", "0 items"),
    (2, "level", "2 levels"), (3, "day", "3 days"), (2, "box", "2 boxes"), (1500, "item", "1,500 items"),
])
def test_plural(count, noun, expected):
    assert display.plural(count, noun) == expected


def test_configure_shows_dataframes_in_the_course_style_in_a_notebook():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        display.configure()
        formatted, _ = shell.display_formatter.format(pd.DataFrame({"text": [LONG]}))
        assert display.TABLE_CLASS in formatted["text/html"] and LONG in formatted["text/html"]
    finally:
        InteractiveShell.clear_instance()


def test_a_table_that_names_its_provinces_already_is_left_alone():
    frame = pd.DataFrame({"province_id": ["P01", "P99"], "name": ["Arveth", "Nowhere"]})
    assert display.readable_frame(frame)[0]["province_id"].tolist() == ["P01", "P99"]
    codes_only = display.readable_frame(pd.DataFrame({"province_id": ["P02", "P99"]}))[0]
    assert codes_only["province_id"].tolist()[1] == "P99" and "(" in codes_only["province_id"][0]


def test_a_series_of_counts_and_a_share_reads_as_whole_numbers_and_a_share():
    """Module 1's alarm outcomes printed "cases 1000.000000" (issue #16, item 6)."""
    from course import warning_signs

    outcomes = warning_signs.alarm_outcomes(cases=1000, base_rate=0.01, hit_rate=0.8,
                                            false_alarm_rate=0.1)
    frame = display.series_frame(outcomes)
    assert frame.loc["cases", "value"] == "1000" and frame.loc["false alarms", "value"] == "99"
    assert frame.loc["share of alarms that were real", "value"] == "0.0748"
    page = display.table_html(frame)
    assert "1000.0" not in page and "<th>item</th>" in page and "<th>value</th>" in page
    sizes = display.series_frame(pd.Series([3, 5], index=pd.Index(["a", "b"], name="stage")))
    assert list(display.readable_frame(sizes)[0].columns) == ["stage", "value"]


def test_hostile_text_in_any_column_stays_text():
    hostile = "<script>alert(1)</script>"
    frame = pd.DataFrame({"text": [hostile], "listed": [[hostile]],
                          "kind": pd.Categorical([hostile]), "n": [1]},
                         index=pd.Index([hostile], name="<i>ix</i>"))
    frame.columns = ["text", "<b>listed</b>", "kind", "n"]
    page = display.table_html(frame)
    assert "<script>" not in page and "<b>" not in page.split("</style>")[1] and "<i>" not in page
    assert page.count("&lt;script&gt;") >= 3
    pivot = pd.DataFrame({("a", "<x>"): [1]})
    assert "<x>" not in display.table_html(pivot)
