"""The simulated market: users arrive, choose from a menu, converse, and leave.

- :mod:`~market.sim.draws`: the random draws, one stream per purpose from one root seed;
- :mod:`~market.sim.offer`: the offer (choices, breakthrough times) and outcome records;
- :mod:`~market.sim.vectorized` and :mod:`~market.sim.abm`: two engines computing the same
  per-user outcomes from the same draws (numpy; Mesa with a SimPy clock);
- :mod:`~market.sim.stats`: realised means with standard errors;
- :mod:`~market.sim.engine`: every policy simulated on one population (plain arguments, no
  files).
"""
