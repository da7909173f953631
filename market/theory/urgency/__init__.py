r"""Urgency distributions: the law of the users' private discount rate (Zhong 2025, Section 2).

A user's urgency :math:`r \in [\underline r, \bar r]`, :math:`0 < \underline r < \bar r`, is
private; the platform knows its CDF :math:`G` and density :math:`g`. The optimal token price
menu (Definition 2, Theorem 1) gives type :math:`r` the time cap

.. math:: T(r) = \frac{g(r)}{G(r)} = \frac{d}{dr}\log G(r),

the *reverse hazard rate*, which is infinite at :math:`\underline r`. Where :math:`\log G` is
not concave the menu irons it through the concave envelope of :math:`\log G`
(docs/paper-notes.md, "The optimal menu for any urgency distribution"). Both need
:math:`\log G` and :math:`g/G` to full relative accuracy near :math:`\underline r`, where
:math:`G \to 0`: every method here works in log space and never forms :math:`G` as a difference
of two nearly equal numbers.

Four families are provided (``kind``):

``uniform``    :math:`g = 1/(\bar r - \underline r)`; the paper's example is
               :math:`U[1, 2]`, with :math:`g/G = 1/(r - 1)` (Section 3.1).
``truncnorm``  a normal :math:`N(m, s^2)` conditioned on :math:`[\underline r, \bar r]`, as
               ``scipy.stats.truncnorm`` defines it.
``beta``       :math:`\mathrm{Beta}(a, b)` rescaled to :math:`[\underline r, \bar r]`; the
               density is infinite at :math:`\underline r` if :math:`a < 1` and at
               :math:`\bar r` if :math:`b < 1`.
``mixture``    :math:`G = \sum_k w_k G_k` of the above, components on any supports.

Conventions shared by all methods: inputs broadcast as numpy arrays and outputs have their
shape; ``nan`` in gives ``nan`` out; the support is the closed interval, so ``pdf(low)`` is
the density's (right) limit at ``low``; outside the support ``pdf`` and ``pdf_derivative``
are 0.
"""

from market.theory.urgency.base import SeedLike, Uniform, UrgencyDistribution, UrgencyError
from market.theory.urgency.beta import Beta
from market.theory.urgency.mixture import Mixture
from market.theory.urgency.truncnorm import TruncNormal

__all__ = [
    "Beta",
    "make_urgency",
    "scaled_urgency",
    "Mixture",
    "SeedLike",
    "TruncNormal",
    "Uniform",
    "UrgencyDistribution",
    "UrgencyError",
]


_KINDS = {"uniform": Uniform, "truncnorm": TruncNormal, "beta": Beta}


def make_urgency(description: dict) -> UrgencyDistribution:
    """Rebuild a distribution from its :meth:`~UrgencyDistribution.describe` record
    (``{"distribution": "beta", "a": ..., ...}``; a mixture lists ``components``, each with a
    ``weight``). Parameters are checked by the constructors."""
    spec = dict(description)
    kind = spec.pop("distribution", None)
    if kind == "mixture":
        pairs = []
        for item in spec.pop("components", ()):
            item = dict(item)
            weight = item.pop("weight", None)
            pairs.append((weight, make_urgency(item)))
        return Mixture(pairs)
    if kind not in _KINDS:
        raise UrgencyError(
            f"distribution = {kind!r}: expected 'uniform', 'truncnorm', 'beta' or 'mixture'"
        )
    try:
        return _KINDS[kind](**spec)
    except TypeError as exc:
        raise UrgencyError(f"{kind}: {exc}") from None


#: The parameters of a :meth:`~UrgencyDistribution.describe` record that scale with r.
_SCALED = ("low", "high", "mean", "sd")


def scaled_urgency(urgency: UrgencyDistribution, factor: float) -> UrgencyDistribution:
    r"""The law of :math:`\sigma r` for :math:`r \sim G` and ``factor`` :math:`\sigma > 0`.

    With a constant slowdown :math:`\sigma` every conversation takes :math:`\sigma` times
    longer, and type :math:`r` values a plan as type :math:`\sigma r` does at full speed:
    :math:`E[e^{-r\sigma\tau}\mathbf 1\{\tau \le T\}] = U(T \mid \sigma r)`.
    """
    if not (factor > 0 and factor < float("inf")):
        raise UrgencyError(f"factor = {factor!r}: expected a finite number > 0")

    def scale(record: dict) -> dict:
        out = {k: (v * factor if k in _SCALED else v) for k, v in record.items()}
        if "components" in out:
            out["components"] = [scale(c) for c in out["components"]]
        return out

    return make_urgency(scale(urgency.describe()))
