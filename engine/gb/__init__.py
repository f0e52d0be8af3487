"""Grain-boundary structure search: candidates of a CSL bicrystal, energy oracles, search
strategies (exhaustive, random, Bayesian optimisation, virtual screening) and a per-atom energy
model for boundaries too large for the oracles. Units: Å, eV; boundary energies in J/m².
"""
