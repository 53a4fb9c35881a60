"""JsonLogic export and import: the emitted form, hand-written forms, errors."""

import pytest
from json_logic import jsonLogic

from segmentation.rules import Clause, Condition, Rule, RuleError, from_jsonlogic, to_jsonlogic


def clause(*conds):
    return Clause(tuple(Condition(*c) for c in conds))


BRIEF = Rule((clause(("orders_90d", ">=", 3), ("total_spend", ">", 1200)),))


def test_emitted_form_guards_missing_values():
    assert to_jsonlogic(BRIEF) == {
        "and": [
            {"!==": [{"var": "orders_90d"}, None]},
            {">=": [{"var": "orders_90d"}, 3]},
            {"!==": [{"var": "total_spend"}, None]},
            {">": [{"var": "total_spend"}, 1200]},
        ]
    }
    r = Rule((clause(("channel", "in", ("web", "app"))), clause(("x", "==", 2), ("x", "!=", 3))))
    assert to_jsonlogic(r) == {
        "or": [
            {"in": [{"var": "channel"}, ["web", "app"]]},
            {
                "and": [
                    {"===": [{"var": "x"}, 2]},
                    {"!==": [{"var": "x"}, None]},
                    {"!==": [{"var": "x"}, 3]},
                ]
            },
        ]
    }
    assert to_jsonlogic(Rule.nobody()) is False
    assert to_jsonlogic(Rule.everyone()) is True
    assert from_jsonlogic(to_jsonlogic(r)) == r


@pytest.mark.parametrize(
    "data", [{}, {"orders_90d": None, "total_spend": None}, {"orders_90d": 0, "total_spend": None}]
)
def test_null_never_passes_a_comparison(data):
    """JsonLogic alone would read null as 0 (null < 3 is true); the guard prevents it."""
    for op in ("<", "<=", "!="):
        assert not jsonLogic(to_jsonlogic(Rule((clause(("total_spend", op, 5)),))), data)
    assert not jsonLogic(to_jsonlogic(BRIEF), data)


def test_text_never_equals_a_number():
    assert not jsonLogic(to_jsonlogic(Rule((clause(("x", "==", 3)),))), {"x": "3"})
    assert jsonLogic(to_jsonlogic(Rule((clause(("x", "==", 3)),))), {"x": 3.0})


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"<": [{"var": "x"}, 5]}, "x < 5"),
        ({"<": [5, {"var": "x"}]}, "x > 5"),
        ({"==": [{"var": "c"}, "web"]}, "c == 'web'"),
        ({"!=": ["web", {"var": ["c"]}]}, "c != 'web'"),
        ({"<=": [1, {"var": "x"}, 5]}, "x >= 1 AND x <= 5"),
        ({"!!": [{"in": [{"var": "c"}, ["a", "b"]]}]}, "c in ('a', 'b')"),
        (
            {
                "and": [
                    {">": [{"var": "x"}, 1]},
                    {"or": [{"==": [{"var": "c"}, "a"]}, {"==": [{"var": "c"}, "b"]}]},
                ]
            },
            "(x > 1 AND c == 'a') OR (x > 1 AND c == 'b')",
        ),
        ({"or": [{"and": []}, {">": [{"var": "x"}, 1]}]}, "(TRUE) OR (x > 1)"),
        ({"and": [{"!=": [{"var": "x"}, None]}, {">": [{"var": "x"}, 1]}]}, "x > 1"),
        (True, "TRUE"),
        (False, "FALSE"),
        ({"or": []}, "FALSE"),
    ],
)
def test_reads_hand_written_forms(doc, expected):
    assert str(from_jsonlogic(doc)) == expected


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"if": [True, 1, 2]}, "$: unsupported operator 'if'"),
        (
            {"and": [{">": [{"var": "x"}, 1]}, {"!": [{"var": "y"}]}]},
            "$.and[1]: unsupported operator '!'",
        ),
        ({"<": [{"var": "x"}, {"var": "y"}]}, "$.<: '<' must compare one var with a value"),
        ({"<": [1, 2]}, "$.<: '<' must compare one var with a value"),
        ({">": [{"var": "x"}]}, "$.>: '>' needs two arguments, got 1"),
        ({"==": [{"var": "x"}, None]}, "$.==: a bare 'x == null' (is missing) cannot be expressed"),
        ({"<": [{"var": "x"}, None]}, "$.<: only '== null' and '!= null' are supported"),
        ({"!==": [{"var": "x"}, None]}, "$.!==: a bare 'x != null'"),
        ({"in": [{"var": "c"}, "abc"]}, "$.in[1]: 'in' needs a list of values"),
        ({"in": [{"var": "c"}, []]}, "$.in: value: 'in' needs a non-empty list"),
        ({"==": [{"var": ["x", 0]}, 1]}, "$.==[0]: a var with a default value is not supported"),
        ({"==": [{"var": "X Y"}, 1]}, "$.==: feature: invalid feature name 'X Y'"),
        ({">": [{"var": "x"}, "a"]}, "$.>: value: '>' needs a number"),
        ({">": [{"var": "x"}, [1]]}, "$.>: expected a number or text"),
        ({"==": [{"var": "x"}, True]}, "$.==: value: expected a number or text"),
        ("x > 1", "$: expected an operation"),
        ({"and": [], "or": []}, "$: expected an operation"),
    ],
)
def test_malformed_documents_name_the_problem(doc, message):
    with pytest.raises(RuleError) as info:
        from_jsonlogic(doc)
    assert str(info.value).startswith(message)


def test_expansion_is_bounded():
    wide = {"or": [{"==": [{"var": "c"}, str(i)]} for i in range(20)]}
    with pytest.raises(RuleError, match="more than 256 clauses"):
        from_jsonlogic({"and": [wide, wide]})
