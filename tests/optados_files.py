"""CASTEP/OptaDOS files for tests, written the way OptaDOS's ``write_core`` (core.f90) writes
``seed_core_edge.dat``: Fortran list-directed lines (a leading space, 17 significant digits,
exponents as E-003), a banner, the broadening settings, then per site
``# <element> <rank in species> <edge>[<label>]``, its rows and a blank line."""
import numpy as np

#: α-quartz (9 atoms) with a core-hole species Si:Exc on its second Si (OptaDOS writes it si:exc)
CELL = """%BLOCK LATTICE_CART
ang
   4.9134   0.0000   0.0000
  -2.4567   4.2551   0.0000
   0.0000   0.0000   5.4052
%ENDBLOCK LATTICE_CART

%BLOCK POSITIONS_FRAC
Si     0.4697  0.0000  0.0000
Si:Exc 0.0000  0.4697  0.6667
Si     0.5303  0.5303  0.3333
O      0.4135  0.2669  0.1191
O      0.2669  0.4135  0.5475
O      0.7331  0.1466  0.7858
O      0.5865  0.8534  0.2142
O      0.8534  0.5865  0.4525
O      0.1466  0.7331  0.8809
%ENDBLOCK POSITIONS_FRAC

%BLOCK SPECIES_POT
Si:Exc Si_00_corehole.usp
%ENDBLOCK SPECIES_POT
"""

ENERGY = np.linspace(-5.0, 25.0, 61)


def block(element: str, rank: int, edge: str, label: str = "") -> str:
    """A block's name as write_core formats it, (a2,1x,i0,1x,a5[,a10]): " O 4    K1" or
    "Si 1    K1    Si:exc" (its test suite's cell says Si:Ex, its file Si:ex)."""
    head, _, tail = label.partition(":")
    return f"{element:>2} {rank} {edge:>5}" + (f"{head + ':' + tail.lower():>10}" if label else "")


def fortran(x: float) -> str:
    """A number as gfortran's list-directed output writes a real(8)."""
    if 0 < abs(x) < 0.1:
        mantissa, exponent = f"{x:.16E}".split("E")
        return f"{mantissa}E{int(exponent):+04d}"  # 1.0000000000000000E-003
    return f"{x:.16f}"


def fortran_e(x: float) -> str:
    """A number in the E21.13 edit descriptor, as a spin-polarised run's rows are written."""
    if x == 0:
        return "0.0000000000000E+00".rjust(21)
    exponent = int(np.floor(np.log10(abs(x)))) + 1
    digits = round(abs(x) / 10.0 ** exponent * 1e13)
    if digits == 10 ** 13:  # 0.99999999999999 rounds up
        digits, exponent = digits // 10, exponent + 1
    return f"{'-' if x < 0 else ''}0.{digits:013d}E{exponent:+03d}".rjust(21)


def spin_row(e, up, down, broadened=None) -> str:
    """One row of a spin-polarised block: E up down total [up down total broadened], with the
    total column as OptaDOS's loop leaves it for two angular-momentum channels (up counted twice),
    so a reader that takes it is caught."""
    values = [e, up, down, 2 * up + down]
    if broadened is not None:
        values += [broadened[0], broadened[1], 2 * broadened[0] + broadened[1]]
    return "".join(fortran_e(v) + "  " for v in values)


def core_file(blocks, broadened=True, spin=False) -> str:
    """The file for ``blocks`` of (:func:`block` name, unbroadened, broadened) on :data:`ENERGY`;
    ``spin``: each of those is (up, down)."""
    lines = [" #*********************************************", " #            Core loss function               ",
             " #*********************************************", " #"]
    if broadened:
        lines += [" # Gaussian broadening: FWHM  0.50000000000000000", " # Lorentzian broadening included",
                  " # Lorentzian scale    0.10000000000000001", " # Lorentzian offset    0.0000000000000000",
                  " # Lorentzian width   0.29999999999999999"]
    lines.append(" #")
    for name, raw, broad in blocks:
        lines.append(f" # {name}")
        if spin:
            lines += [spin_row(e, *a, b if broadened else None) for e, a, b in
                      zip(ENERGY, np.transpose(raw), np.transpose(broad))]
        else:
            lines += ["  " + "       ".join(fortran(v) for v in ((e, a, b) if broadened else (e, a)))
                      for e, a, b in zip(ENERGY, raw, broad)]
        lines.append(" ")
    return "\n".join(lines) + "\n"


def peak(centre, width=1.0):
    """A unit Gaussian on :data:`ENERGY`."""
    return np.exp(-0.5 * ((ENERGY - centre) / width) ** 2)
