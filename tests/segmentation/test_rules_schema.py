"""The published JSON Schema (segmentation/schema/rule-v1.schema.json) describes the stored form."""

import json

import pytest
from hypothesis import given, settings
from jsonschema import Draft202012Validator

from segmentation.rules import Rule, RuleError
from segmentation.schema import RULE_SCHEMA_PATH, rule_schema
from tests.segmentation.test_rules_ast import rule as sample_rule
from tests.segmentation.test_rules_evaluate import rules

VALIDATOR = Draft202012Validator(rule_schema())


def test_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(rule_schema())
    assert RULE_SCHEMA_PATH.name == "rule-v1.schema.json"
    assert json.loads(RULE_SCHEMA_PATH.read_text())["properties"]["version"] == {"const": 1}


def test_samples_validate():
    for rule in (sample_rule(), Rule.nobody(), Rule.everyone()):
        VALIDATOR.validate(json.loads(json.dumps(rule.to_dict())))


@settings(max_examples=100, deadline=None)
@given(rules)
def test_every_stored_rule_validates(rule):
    VALIDATOR.validate(json.loads(json.dumps(rule.to_dict())))


def cond(op, value):
    return {"version": 1, "any": [{"all": [{"feature": "x", "op": op, "value": value}]}]}


@pytest.mark.parametrize(
    "data",
    [
        {"version": 2, "any": []},
        {"any": []},
        {"version": 1, "any": [], "extra": 1},
        {"version": 1, "any": [{"al": []}]},
        {"version": 1, "any": [{"all": [{"feature": "X y", "op": ">", "value": 1}]}]},
        {"version": 1, "any": [{"all": [{"feature": "x", "op": ">"}]}]},
        cond("=<", 1),
        cond(">", "1"),
        cond("in", []),
        cond("in", "ab"),
        cond("in", [1, None]),
        cond("==", True),
        cond("==", None),
        cond("!=", [1]),
    ],
)
def test_schema_and_from_dict_both_reject(data):
    assert not VALIDATOR.is_valid(data)
    with pytest.raises(RuleError):
        Rule.from_dict(data)
