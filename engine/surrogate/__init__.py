"""Site spectra from structure: reference calculators, surrogate models, active learning."""
