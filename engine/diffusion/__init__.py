"""Diffusion on a hop network: kinetic Monte Carlo of independent walkers and what follows from it.

The energy landscape (sites, saddles) comes in as plain arrays (:class:`HopNetwork`); KMC
(:func:`run_kmc`) gives unwrapped trajectories; :mod:`.analysis` turns them into MSD, D ± error,
Arrhenius parameters, and the percolation barrier that bounds the activation energy.
Units: Å, eV, s, K; D in Å²/s.
"""
from .analysis import (CONVERGED, UNCONVERGED, UNRESOLVED, ArrheniusFit, RunAnalysis, analyse_run,
                       beyond_measure, d_status, scan_fit, typical_reach, DiffusionFit, DiffusionTensor, Msd, Spanning,
                       TemperatureScan, arrhenius_fit, barrier_name, cells_crossed, crossing_note,
                       diffusion_coefficient, diffusion_tensor, first_spanning, long_range,
                       measured_along, measured_where, mean_squared_displacement,
                       percolation_barrier, scan_reach, spanning_sentence, spanning_where,
                       temperature_scan, time_fractions, winding_name)
from .kmc import N_SAMPLES, KmcParams, KmcResult, estimated_seconds, planned, run_kmc
from .merging import flat_landscape, site_to_site
from .network import KB_EV, HopNetwork, RateTable, random_barrier_lattice, simple_cubic_lattice
from .paths import LandscapeParams, PathParams, Paths, build_network, find_paths, hop_network
from .potential import UFF_PARAMETERS, HostPotential, MobileAtomCalculator
from .sites import EnergyGrid, NoSiteError, SiteSearchParams, Sites, energy_grid, find_sites
from .tables import PATHS_COLUMNS, paths_comments, paths_rows, write_paths_csv, write_run_csv

__all__ = [
    "ArrheniusFit", "DiffusionFit", "DiffusionTensor", "HopNetwork", "KB_EV", "KmcParams",
    "KmcResult", "Msd", "RateTable", "Spanning", "TemperatureScan", "arrhenius_fit",
    "barrier_name", "cells_crossed", "crossing_note", "scan_reach", "diffusion_coefficient", "diffusion_tensor", "first_spanning", "long_range",
    "mean_squared_displacement", "percolation_barrier", "random_barrier_lattice", "run_kmc",
    "simple_cubic_lattice", "spanning_sentence", "spanning_where", "temperature_scan", "winding_name",
    "EnergyGrid", "HostPotential", "LandscapeParams", "MobileAtomCalculator", "NoSiteError",
    "PathParams", "Paths", "SiteSearchParams", "Sites", "UFF_PARAMETERS", "build_network",
    "energy_grid", "find_paths", "find_sites", "hop_network", "measured_along", "measured_where", "PATHS_COLUMNS",
    "paths_comments", "paths_rows", "write_paths_csv", "write_run_csv",
    "CONVERGED", "UNCONVERGED", "UNRESOLVED", "RunAnalysis", "analyse_run", "beyond_measure",
    "d_status", "scan_fit", "typical_reach", "N_SAMPLES", "estimated_seconds", "planned",
    "flat_landscape", "time_fractions", "site_to_site",
]
