"""Every evaluation of a rule selects the same customers (no database needed).

Random feature tables (ties at thresholds: thresholds are drawn from the
table's values; missing values as null or as an absent JSON key; text
categories with quotes and percent signs) and random rules, checked across:
the vectorised evaluator, ``evaluate_row``, ``compile_rule``, a JsonLogic
library from PyPI (panzi-json-logic) on the exported JsonLogic, and the SQL
renderer on SQLite (stdlib ``sqlite3``, with the same column expressions as
the Django side). The convention under test: a condition on a missing value
is False, whatever the operator, ``!=`` and ``in`` included -- True when the
condition has ``or_unknown`` (drawn now and then).
"""

from __future__ import annotations

import json
import math
import sqlite3

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from json_logic import jsonLogic

from segmentation.features.builtin import register_builtin_features
from segmentation.features.registry import CUSTOMERS, Feature, FeatureRegistry
from segmentation.pipeline import PipelineConfig, run_pipeline
from segmentation.pipeline.synthetic import make_retail_customers, retail_catalog
from segmentation.querying import feature_columns
from segmentation.rules import (
    Clause,
    Condition,
    FeatureInfo,
    Rule,
    compile_rule,
    evaluate,
    evaluate_row,
    from_jsonlogic,
    render_sql,
    render_sql_inline,
    simplify,
    to_jsonlogic,
)

COLUMNS = ("recency_days", "orders_90d", "total_spend")  # own columns of the feature table
NUMERIC = (*COLUMNS, "score")  # score: a host feature stored in `extra`
CATEGORIES = ("web", "app", "O'Brien", "50%", "", "null")
TIES = (-1.5, 0.0, 0.1, 1.0, 2.0, 2.5, 3.0, 90.0, 1187.35, 1200.0)
TABLE = "segmentation_customerfeatures"


def make_registry() -> FeatureRegistry:
    """Built-in features plus a numeric and a categorical host feature (in `extra`)."""
    registry = FeatureRegistry()
    register_builtin_features(registry)
    registry.register(Feature(FeatureInfo("score", "score", "评分"), CUSTOMERS, lambda now: None))
    registry.register(
        Feature(
            FeatureInfo("channel", "channel", "渠道", kind="categorical"),
            CUSTOMERS,
            lambda now: None,
        )
    )
    return registry


REGISTRY = make_registry()

numbers = st.one_of(
    st.sampled_from(TIES),
    st.integers(-5, 200).map(float),
    st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False),
)


@st.composite
def tables(draw, max_rows: int = 12) -> list[dict]:
    """Rows ``{feature: value or None, "_absent": {extra keys left out of the JSON}}``."""

    def missing() -> bool:  # about one value in six
        return draw(st.integers(0, 5)) == 0

    rows = []
    for _ in range(draw(st.integers(0, max_rows))):
        row = {f: None if missing() else draw(numbers) for f in NUMERIC}
        row["channel"] = None if missing() else draw(st.sampled_from(CATEGORIES))
        row["_absent"] = {f for f in ("score", "channel") if row[f] is None and draw(st.booleans())}
        rows.append(row)
    return rows


@st.composite
def rules_for(draw, rows: list[dict]) -> Rule:
    """A random rule whose thresholds are often values of the table (ties)."""
    seen = {f: [r[f] for r in rows if r[f] is not None] for f in NUMERIC}
    unseen = st.sampled_from(["mobile", "web ", "APP"])

    def value(feature: str):
        if feature == "channel":
            return draw(st.one_of(st.sampled_from(CATEGORIES), unseen))
        if seen[feature] and draw(st.integers(0, 2)) > 0:  # mostly ties with the table
            return draw(st.sampled_from(seen[feature]))
        return draw(numbers)

    def condition() -> Condition:
        feature = draw(st.sampled_from((*NUMERIC, "channel")))
        ops = (
            ["==", "!=", "in"] if feature == "channel" else ["<", "<=", ">", ">=", "==", "!=", "in"]
        )
        op = draw(st.sampled_from(ops))
        unknown = draw(st.integers(0, 3)) == 0  # now and then "or unknown"
        if op == "in":
            return Condition(
                feature, "in", tuple(value(feature) for _ in range(draw(st.integers(1, 3)))),
                unknown,
            )
        return Condition(feature, op, value(feature), unknown)

    def size(most: int) -> int:  # now and then 0: the empty rule, the empty clause
        return 0 if draw(st.integers(0, 11)) == 0 else draw(st.integers(1, most))

    return Rule(tuple(Clause(tuple(condition() for _ in range(size(3)))) for _ in range(size(3))))


def frame_of(rows: list[dict], ids: list[int] | None = None) -> pd.DataFrame:
    """The DataFrame the Python evaluator sees: NaN / None for missing values."""
    ids = ids if ids is not None else list(range(1, len(rows) + 1))
    data = {f: pd.Series([r[f] for r in rows], dtype=float) for f in NUMERIC}
    data["channel"] = pd.Series([r["channel"] for r in rows], dtype=object)
    return pd.DataFrame(data).set_axis(pd.Index(ids, name="customer_id"))


def extra_json(row: dict) -> str:
    """The `extra` JSON as the feature table stores it (null, or no key, when missing)."""
    return json.dumps({f: row[f] for f in ("score", "channel") if f not in row["_absent"]})


def logic_data(row: dict) -> dict:
    """JsonLogic data: JSON, so missing is null or an absent key."""
    return {f: v for f, v in row.items() if f != "_absent" and f not in row["_absent"]}


def plain(row: dict) -> dict:
    return {f: v for f, v in row.items() if f != "_absent"}


@pytest.fixture(scope="module")
def sqlite_table():
    con = sqlite3.connect(":memory:")
    con.execute(
        f'CREATE TABLE "{TABLE}" (customer_id INTEGER PRIMARY KEY, '
        + ", ".join(f'"{c}" REAL' for c in COLUMNS)
        + ', "extra" TEXT NOT NULL)'
    )
    yield con
    con.close()


def sqlite_select(con, rows: list[dict], rule: Rule) -> tuple[set, set]:
    con.execute(f'DELETE FROM "{TABLE}"')
    con.executemany(
        f'INSERT INTO "{TABLE}" VALUES (?, {", ".join("?" for _ in COLUMNS)}, ?)',
        [(i, *(r[c] for c in COLUMNS), extra_json(r)) for i, r in enumerate(rows, 1)],
    )
    columns = feature_columns(vendor="sqlite", features=REGISTRY)
    sql, params = render_sql(rule, columns, "sqlite")
    query = f'SELECT customer_id FROM "{TABLE}" WHERE '
    by_params = {i for (i,) in con.execute(query + sql, params)}
    inline = {i for (i,) in con.execute(query + render_sql_inline(rule, columns, "sqlite"))}
    return by_params, inline


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_python_jsonlogic_and_sqlite_select_the_same_rows(sqlite_table, data):
    rows = data.draw(tables())
    rule = data.draw(rules_for(rows))
    frame = frame_of(rows)
    expected = {int(i) for i in frame.index[evaluate(rule, frame)]}
    ids = range(1, len(rows) + 1)
    compiled, logic = compile_rule(rule), json.loads(json.dumps(to_jsonlogic(rule)))
    assert {i for i, r in zip(ids, rows, strict=True) if evaluate_row(rule, plain(r))} == expected
    assert {i for i, r in zip(ids, rows, strict=True) if compiled(plain(r))} == expected
    assert {
        i for i, r in zip(ids, rows, strict=True) if jsonLogic(logic, logic_data(r))
    } == expected
    by_params, inline = sqlite_select(sqlite_table, rows, rule)
    assert by_params == expected
    assert inline == expected
    # the stored form, the JsonLogic read back and the simplified rule are the same rule
    assert Rule.from_dict(json.loads(json.dumps(rule.to_dict()))) == rule
    assert set(frame.index[evaluate(from_jsonlogic(logic), frame)]) == expected
    assert set(frame.index[evaluate(simplify(rule), frame)]) == expected


@pytest.mark.parametrize(
    "cond",
    [Condition("score", op, 1.0) for op in ("<", "<=", ">", ">=", "==", "!=")]
    + [
        Condition("score", "in", (1.0, 2.0)),
        Condition("channel", "!=", "web"),
        Condition("channel", "in", ("web", "null")),
    ],
)
def test_missing_is_false_everywhere(sqlite_table, cond):
    """null, an absent key and NaN never satisfy a condition, in every renderer."""
    rows = [
        {
            "recency_days": None,
            "orders_90d": None,
            "total_spend": None,
            "score": None,
            "channel": None,
            "_absent": set(),
        },
        {
            "recency_days": None,
            "orders_90d": None,
            "total_spend": None,
            "score": None,
            "channel": None,
            "_absent": {"score", "channel"},
        },
    ]
    rule = Rule((Clause((cond,)),))
    assert not evaluate(rule, frame_of(rows)).any()
    assert not compile_rule(rule)({"score": math.nan, "channel": math.nan})
    assert not any(compile_rule(rule)(plain(r)) for r in rows)
    assert not any(jsonLogic(to_jsonlogic(rule), logic_data(r)) for r in rows)
    assert sqlite_select(sqlite_table, rows, rule) == (set(), set())


@pytest.fixture(scope="module")
def retail_run():
    frame = make_retail_customers(2000, random_state=5, missing=0.03)
    frame["channel"] = np.where(frame["sessions_30d"] > 8, "app", "web")
    catalog = {
        **retail_catalog(),
        "channel": FeatureInfo("channel", "channel", "渠道", kind="categorical"),
    }
    config = PipelineConfig(n_clusters=4, sample_size=800, random_state=0)
    return frame, run_pipeline(frame, catalog, config)


def test_fitted_rules_select_exactly_the_run_labels(retail_run):
    """The (rounded) rules are a partition: each selects exactly the customers labelled with it."""
    frame, result = retail_run
    masks = np.array([evaluate(s.rule, frame) for s in result.segments])
    assert masks.sum(0).max() <= 1
    for segment, mask in zip(result.segments, masks, strict=True):
        assert (mask == (result.labels == segment.index)).all()
        assert mask.sum() == segment.size
    m = result.metrics
    assert 0 <= m["rounding_changed_share"] <= 0.005 + 1e-9
    assert m["fidelity_before_rounding"] - m["fidelity"] <= m["rounding_changed_share"] + 1e-9


def test_fitted_rules_agree_across_renderers(retail_run):
    frame, result = retail_run
    records = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]
    for segment in result.segments:
        mask = evaluate(segment.rule, frame)
        compiled = compile_rule(segment.rule)
        logic = to_jsonlogic(segment.rule)
        assert [compiled(r) for r in records] == mask.tolist()
        assert [bool(jsonLogic(logic, r)) for r in records] == mask.tolist()
