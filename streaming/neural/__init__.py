"""Neural readers of the task streams (torch only, imported lazily; install the `models` extra).

Readers whose state is captured at the cut, rounded to p bits per coordinate and resumed (`models.py`,
`state.py`), training and evaluation on the tasks' own streams (`train.py`), the linear capacity probe
(`probe.py`, numpy only) and the probe figure's pipeline (`pipeline.py`). Nothing in `streaming` outside this
package, nor `commcomplexity`, imports it.
"""
