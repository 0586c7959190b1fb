"""Neural readers of the task streams (torch only, imported lazily; install the `models` extra).

Work in progress (issue 6): RNN models whose recurrent state is captured at the cut, rounded to p bits per
coordinate and resumed (`models.py`, `state.py`), and the linear capacity probe (`probe.py`, numpy only).
Nothing in `streaming` or `commcomplexity` imports this package.
"""
