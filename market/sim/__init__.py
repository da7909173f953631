"""The simulated market: users arrive, choose from a menu, converse, and leave.

- :mod:`~market.sim.draws`: the random draws, one stream per purpose from one root seed;
- :mod:`~market.sim.offer`: the offer (choices, breakthrough times) and outcome records;
- :mod:`~market.sim.vectorized` and :mod:`~market.sim.abm`: two engines computing the same
  per-user outcomes from the same draws (numpy; Mesa with a SimPy clock);
- :mod:`~market.sim.behaviour`: how users choose (rational or logit, on a true or noisy
  urgency, expecting a slowdown or not);
- :mod:`~market.sim.capacity`: a finite token throughput shared by open conversations
  (virtual clocks per class); :mod:`~market.sim.congested` its plain event loop and
  :mod:`~market.sim.abm_capacity` the agent-based platform serving it as a SimPy process;
- :mod:`~market.sim.anticipation`: users who expect the slowdown the market produces (a fixed
  point), and :mod:`~market.sim.platform`: a platform pricing for it;
- :mod:`~market.sim.estimate` and :mod:`~market.sim.learning`: a platform that learns the
  urgency law from what users buy, period after period;
- :mod:`~market.sim.stats`: realised means with standard errors;
- :mod:`~market.sim.engine`: every policy simulated on one population (plain arguments, no
  files).
"""
