"""Logic behind Module 1, warning signs and risk factors (no ipywidgets: the views live in
``course.widgets.warning_signs``). Bad input raises ``ValueError`` saying what is wrong and what to do.

One module per concern; every name is also reachable as ``course.warning_signs.NAME``:

* :mod:`~course.warning_signs.factors` - the Framework's 14 risk factors, their groups and names;
* :mod:`~course.warning_signs.indicators` - indicator values to factors present, counts, trends,
  and :class:`MonthlyMeasures` for the time-slider map;
* :mod:`~course.warning_signs.workbench` - the :class:`Workbench` a trainee records an assessment in;
* :mod:`~course.warning_signs.countries` - the sources' countries and a trainee's own country table;
* :mod:`~course.warning_signs.base_rates` - base rates, false alarms and missed warnings.

Input checks shared with the other modules (columns, months, provinces) are in :mod:`course.checks`.
"""

from course.checks import check_month_in as check_month
from course.checks import check_province
from course.warning_signs.base_rates import alarm_outcomes, precision, precision_by_base_rate
from course.warning_signs.countries import (
    SOURCE_KEYS,
    load_uploaded_country_table,
    risk_by_country,
    source_country_notes,
)
from course.warning_signs.factors import (
    COMMON,
    FACTORS,
    GROUPS,
    SPECIFIC,
    by_group,
    category_of,
    check_factor,
    factor_names,
    group_of,
    split_common_specific,
)
from course.warning_signs.indicators import (
    CATALOGUE_COLUMNS,
    FACTORS_MEASURE,
    INDICATOR_COLUMNS,
    MonthlyMeasures,
    factor_counts,
    factors_present,
    first_sustained,
    flag_indicators,
    month_values,
    months_of,
    recent_change,
    sustained,
)
from course.warning_signs.workbench import Judgement, Workbench

__all__ = [
    "CATALOGUE_COLUMNS", "COMMON", "FACTORS", "FACTORS_MEASURE", "GROUPS", "INDICATOR_COLUMNS",
    "SOURCE_KEYS", "SPECIFIC", "Judgement", "MonthlyMeasures", "Workbench", "alarm_outcomes",
    "by_group", "category_of", "check_factor", "check_month", "check_province", "factor_counts",
    "factor_names", "factors_present", "first_sustained", "flag_indicators", "group_of",
    "load_uploaded_country_table", "month_values", "months_of", "precision",
    "precision_by_base_rate", "recent_change", "risk_by_country", "source_country_notes",
    "split_common_specific", "sustained",
]
