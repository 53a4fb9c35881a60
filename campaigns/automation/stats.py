"""The A/B test's statistics: plain Python, no Django."""

from __future__ import annotations

import math
from dataclasses import dataclass


def two_proportion_p_value(hits_a: int, n_a: int, hits_b: int, n_b: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (1.0 when it cannot be computed).

    Parameters
    ----------
    hits_a, n_a : int
        Successes (unique clicks or opens) and trials (messages sent) of the first group.
    hits_b, n_b : int
        The same for the second group.
    """
    if n_a <= 0 or n_b <= 0:
        return 1.0
    pooled = (hits_a + hits_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return 1.0
    z = (hits_a / n_a - hits_b / n_b) / se
    return math.erfc(abs(z) / math.sqrt(2))


@dataclass(frozen=True)
class Arm:
    key: int
    sent: int
    hits: int

    @property
    def rate(self) -> float:
        return self.hits / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class Decision:
    leader: int  # the arm with the best rate (ties: the earlier arm)
    p_value: float  # leader against the runner-up, Bonferroni-corrected for the others
    enough: bool  # every arm reached the minimum number of sends


def decide(arms: list[Arm], *, min_sends: int) -> Decision:
    """Rank the arms by rate; test the leader against the runner-up.

    With more than two arms the p-value is multiplied by the number of comparisons
    the leader could have won (Bonferroni), so picking the best of five is not
    mistaken for significance.
    """
    if not arms:
        raise ValueError("no arms")
    ranked = sorted(arms, key=lambda arm: -arm.rate)  # stable: ties keep the earlier arm
    leader = ranked[0]
    if len(ranked) == 1:
        return Decision(leader.key, 1.0, leader.sent >= min_sends)
    runner = ranked[1]
    p_value = two_proportion_p_value(leader.hits, leader.sent, runner.hits, runner.sent)
    p_value = min(1.0, p_value * (len(arms) - 1))
    return Decision(leader.key, p_value, all(arm.sent >= min_sends for arm in arms))
