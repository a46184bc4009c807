"""course.widgets.pyramid: the views build without a browser and forward to the logic."""

import html

import pandas as pd
import pytest

from course import pyramid as P
from course.widgets import pyramid as views


def make_log(rows):
    """rows: (item_id, month, province_id, level)."""
    return pd.DataFrame(
        [{"item_id": i, "month": m, "province_id": p, "kind": "statement", "actor": "someone",
          "summary": f"summary of {i}", "pyramid_level": lvl, "level_reason": f"reason {i}."}
         for i, m, p, lvl in rows])


@pytest.fixture
def log():
    return make_log([
        ("a1", "2024-01", "P01", 1), ("a2", "2024-02", "P01", 3), ("a3", "2024-03", "P01", 4),
        ("b1", "2024-01", "P02", 2), ("b2", "2024-03", "P02", 1),
    ])


def parts(view):
    """Every widget in a view, depth first."""
    out = [view]
    for child in getattr(view, "children", ()):
        out += parts(child)
    return out


def level_button(view, level):
    return next(w for w in parts(view)
                if getattr(w, "description", "").startswith(f"{level}. "))


def test_sorting_widget_gives_feedback_and_a_live_pyramid(log):
    sorter = P.PyramidSorter(log)
    view = views.sorting_widget(sorter)
    html = [w for w in parts(view) if w.__class__.__name__ == "HTML"]
    chart = next(w for w in parts(view) if "<img" in str(getattr(w, "value", "")))
    assert any("summary of a1" in h.value and "Fictional" in h.value for h in html)
    empty_chart = chart.value
    level_button(view, 2).click()           # a1's reference is level 1
    assert sorter.answers()["chosen"].tolist() == [2]
    assert any("reason a1." in h.value and "1 level higher" in h.value for h in html)
    assert chart.value != empty_chart and 'src="data:image/png;base64,' in chart.value
    assert 'alt="Bar chart of your pyramid' in chart.value and "level 2, acts of bias: 1 item" in chart.value
    assert any("Where you differ" in h.value and "a1" in h.value for h in html)
    next(w for w in parts(view) if getattr(w, "description", "") == "Next unsorted item").click()
    assert any("summary of a2" in h.value for h in html)


def test_sorting_widget_says_when_everything_is_sorted(log):
    sorter = P.PyramidSorter(log.head(1))
    view = views.sorting_widget(sorter)
    level_button(view, 1).click()
    next(w for w in parts(view) if getattr(w, "description", "") == "Next unsorted item").click()
    assert any("Every item is sorted" in getattr(w, "value", "") for w in parts(view)
               if w.__class__.__name__ == "HTML")


def test_escalation_explorer_follows_the_slider(log):
    view = views.escalation_explorer(P.EscalationExplorer(log, window=1, min_upper=1))
    slider = next(w for w in parts(view) if getattr(w, "description", "") == "Up to")
    where = next(w for w in parts(view) if getattr(w, "description", "") == "Where")
    status = [w for w in parts(view) if w.__class__.__name__ == "HTML"]
    assert slider.options == ("2024-01", "2024-02", "2024-03")
    assert where.value == P.COUNTRY and where.label == "Whole country"   # not a blank choice
    assert any("2024-03, the country" in s.value for s in status)
    where.value = "P01"
    slider.value = "2024-02"
    assert any("2024-02, P01: 1 item at level 3 or above" in s.value for s in status)
    assert any("Escalating" in s.value for s in status)


def test_escalation_explorer_shows_unknown_province_as_a_message(log):
    view = views.escalation_explorer(P.EscalationExplorer(log), province="P77")
    assert "unknown province 'P77'" in html.unescape(view.value) and "P01" in view.value


def test_share_map_follows_the_slider(log):
    view = views.share_map(log)
    slider = next(w for w in parts(view) if getattr(w, "description", "") == "Month")
    frame = [w for w in parts(view) if w.__class__.__name__ == "HTML"][-1]
    assert slider.value == "2024-03"
    assert "level 3+, 2024-03" in frame.value and "Fictional" in frame.value
    slider.value = "2024-02"
    assert "level 3+, 2024-02" in frame.value
    assert "https://" not in frame.value.split("srcdoc")[0]


@pytest.mark.parametrize("month", ["2030-01", "March", "2024-3"])
def test_share_map_bad_month_is_a_message(log, month):
    view = views.share_map(log, month)
    assert "outside the log" in view.value or "YYYY-MM" in view.value


def test_share_map_empty_or_wrong_log_is_a_message(log):
    assert "empty" in views.share_map(log.iloc[0:0]).value
    assert "lacks column" in views.share_map(log.drop(columns="month")).value
