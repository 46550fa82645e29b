"""The experiment report laid out as text: a terminal table, CSV or JSON (``flask --app bot
report``). The numbers all come from ``experiments.analytics``; docs/report.md says what each
column and field means."""

from experiments.report.document import to_json, with_baseline_json
from experiments.report.flat import CSV_COLUMNS, baseline_csv, csv_row, to_csv
from experiments.report.table import baseline_line, to_table

__all__ = [
    "CSV_COLUMNS",
    "baseline_csv",
    "baseline_line",
    "csv_row",
    "to_csv",
    "to_json",
    "to_table",
    "with_baseline_json",
]
