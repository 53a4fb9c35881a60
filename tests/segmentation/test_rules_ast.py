"""The rule AST and its versioned JSON form."""

import json

import pytest

from segmentation.rules import Clause, Condition, Rule, RuleError


def rule():
    return Rule(
        (
            Clause((Condition("orders_90d", ">=", 3), Condition("total_spend", ">", 1200.5))),
            Clause((Condition("channel", "in", ("web", "app")),)),
            Clause(()),
        )
    )


def test_json_round_trip():
    r = rule()
    data = json.loads(json.dumps(r.to_dict()))
    assert data["version"] == 1
    assert data["any"][0]["all"][0] == {"feature": "orders_90d", "op": ">=", "value": 3}
    assert data["any"][1]["all"][0]["value"] == ["web", "app"]
    assert Rule.from_dict(data) == r
    assert hash(Rule.from_dict(data)) == hash(r)


def test_empty_rule_and_clause():
    assert Rule.from_dict({"version": 1, "any": []}) == Rule.nobody()
    assert Rule.everyone().to_dict() == {"version": 1, "any": [{"all": []}]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "rule: expected an object"),
        ({"version": 2, "any": []}, "version: unsupported version 2"),
        ({"any": []}, "version: unsupported version None"),
        ({"version": 1}, "any: expected a list"),
        ({"version": 1, "any": [], "x": 1}, "rule: unexpected key 'x'"),
        ({"version": 1, "any": [{"al": []}]}, "any[0]: expected an object"),
        ({"version": 1, "any": [{"all": {}}]}, "any[0].all: expected a list"),
        (
            {"version": 1, "any": [{"all": [{"feature": "a", "op": ">", "value": 1}, {}]}]},
            "any[0].all[1].feature: missing",
        ),
        (
            {
                "version": 1,
                "any": [
                    {"all": []},
                    {
                        "all": [
                            {"feature": "a", "op": ">", "value": 1},
                            {"feature": "a", "op": "=<", "value": 1},
                        ]
                    },
                ],
            },
            "any[1].all[1].op: unknown operator '=<'",
        ),
        (
            {"version": 1, "any": [{"all": [{"feature": "A b", "op": ">", "value": 1}]}]},
            "any[0].all[0].feature: invalid feature name 'A b'",
        ),
        (
            {"version": 1, "any": [{"all": [{"feature": "a", "op": ">", "value": "x"}]}]},
            "any[0].all[0].value: '>' needs a number",
        ),
        (
            {"version": 1, "any": [{"all": [{"feature": "a", "op": "in", "value": []}]}]},
            "any[0].all[0].value: 'in' needs a non-empty list",
        ),
        (
            {"version": 1, "any": [{"all": [{"feature": "a", "op": "in", "value": [1, None]}]}]},
            "any[0].all[0].value[1]: expected a number or text",
        ),
        (
            {"version": 1, "any": [{"all": [{"feature": "a", "op": "==", "value": True}]}]},
            "any[0].all[0].value: expected a number or text",
        ),
        (
            {"version": 1, "any": [{"all": [{"feature": "a", "op": "<", "value": float("nan")}]}]},
            "any[0].all[0].value: expected a finite number",
        ),
        (
            {"version": 1, "any": [{"all": [{"feature": "a", "op": "<", "value": 1, "x": 2}]}]},
            "any[0].all[0]: unexpected key 'x'",
        ),
    ],
)
def test_from_dict_errors_name_the_place(data, message):
    with pytest.raises(RuleError) as info:
        Rule.from_dict(data)
    assert str(info.value).startswith(message)
    assert isinstance(info.value, ValueError)


def test_condition_normalises_values():
    import numpy as np

    c = Condition("x", "in", [np.int64(1), 2.5, "a", 1])
    assert c.value == (1, 2.5, "a")
    assert type(c.value[0]) is int
    assert type(Condition("x", "<", np.float32(2.5)).value) is float


def test_features_and_str():
    r = rule()
    assert r.features() == ("orders_90d", "total_spend", "channel")
    assert str(Rule.nobody()) == "FALSE"
    assert "orders_90d >= 3 AND total_spend > 1200.5" in str(r)
