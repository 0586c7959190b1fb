"""streambound's streaming side: task streams, the budget-enforcing engine, budgeted algorithms, sweeps.

Importing this package never imports torch or transformers; the neural code lives in ``streaming.neural``.
"""
__version__ = "0.1.0"
