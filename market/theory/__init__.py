r"""The paper's mathematics, pure: no files, no printing, no simulation (Zhong 2025).

- :mod:`~market.theory.information`: entropies :math:`H` and Bregman divergences (Section 2);
- :mod:`~market.theory.urgency`: the law :math:`G` of the users' urgency :math:`r`;
- :mod:`~market.theory.models`: the interface of a conversation model (its stopping law);
- :mod:`~market.theory.greedy` and :mod:`~market.theory.greedy_law`: the greedy exploration
  model (Definition 1, Proposition 1) and its stopping law;
- :mod:`~market.theory.families`: the constant-delay and diffusion families and the best menu
  within each (Section 2.2);
- :mod:`~market.theory.mechanism`: Theorem 1's token menu for any :math:`G`, with ironing;
- :mod:`~market.theory.incentives`: an independent IC/IR check of a menu.

Errors are raised in the theory's own vocabulary (``token_rate``, ``prior``, ``low``): the
scenario layer names the file and the field.
"""
