"""Fixtures for the crm tests: the fixture files and small CSV helpers."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
SHARED_SALES = DATA / "electronic_sales.csv"  # a copy of ../shared/data/electronic_sales.csv
SALES_MAPPING = Path(__file__).resolve().parents[2] / "crm/importing/mappings/electronic_sales.json"


@pytest.fixture
def data_dir() -> Path:
    return DATA


def csv_file(text: str, encoding: str = "utf-8") -> io.BytesIO:
    """A CSV file in memory, encoded as a spreadsheet would save it."""
    return io.BytesIO(text.encode(encoding))
