"""Task environments and simulators of the model families, in NumPy (no JAX)."""
