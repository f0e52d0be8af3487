"""Random points at a-SiO2's density and composition: a big model made in a blink, for tests that
need many atoms (loading, bonding, drawing) and not a physical structure."""
import numpy as np

#: g/cm³ and g/mol of SiO2 (three atoms), Avogadro's number.
DENSITY, SIO2_MASS, AVOGADRO = 2.2, 60.08, 6.022e23


def random_silica(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """(atomic numbers, positions in Å, cubic box edge in Å) of ``n`` atoms, every third Si."""
    box = (n / 3 * SIO2_MASS / AVOGADRO / DENSITY) ** (1 / 3) * 1e8
    numbers = np.where(np.arange(n) % 3 == 0, 14, 8)
    return numbers, np.random.default_rng(seed).random((n, 3)) * box, box
