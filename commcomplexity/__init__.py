"""The theory side of streambound: entropy and Fano, exact bounds, optimal one-way protocols at small sizes,
confidence intervals and the audit.

It imports nothing from ``streaming`` (the arrows run cli -> streaming -> commcomplexity): whatever builds streams
or runs algorithms lives on the measurement side. Plain numpy and scipy.
"""
