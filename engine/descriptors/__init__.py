"""Per-site descriptors of local structure (ACSF, SOAP, interpretable features), numba kernels."""
