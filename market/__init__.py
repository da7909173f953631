"""token-market: pricing access to generative-AI models (Zhong, "Token Is All You Price").

Layers, imports pointing down only:

- mathematics (pure): :mod:`market.information`, :mod:`market.urgency`, :mod:`market.greedy`,
  :mod:`market.families`, :mod:`market.mechanism`;
- configuration: :mod:`market.scenario` (TOML scenario files, validated);
- glue: :mod:`market.solve` (scenario -> solved policies);
- command line: :mod:`market.cli`.
"""

__version__ = "0.1.0"
