"""The simulated market: users arrive, choose from a menu, converse, and leave.

Layers, imports pointing down only:

- :mod:`market.sim.draws`: the random draws, one stream per purpose from one root seed;
- :mod:`market.sim.outcomes`: the offer (choices, breakthrough times) and outcome records;
- :mod:`market.sim.vectorized` and :mod:`market.sim.abm`: two engines computing the same
  per-user outcomes from the same draws (numpy; Mesa with a SimPy clock);
- :mod:`market.sim.records`: tables and summaries; :mod:`market.sim.rundir`: run folders;
- :mod:`market.sim.command`: ``market run``.
"""
