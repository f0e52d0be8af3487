"""A mobile atom that does not fit raises NoSiteError: a ParameterError of energy_max that also
carries the lowest minimum found, so a caller can say how high "sites up to" must go."""
import pickle

import pytest

from amorpha.engine.build.crystals import CrystalParams, build_crystal
from amorpha.engine.diffusion import NoSiteError, SiteSearchParams, find_sites
from amorpha.engine.errors import ParameterError


def test_cu_in_quartz_reports_its_lowest_minimum():
    quartz = build_crystal(CrystalParams("alpha-quartz", (1, 1, 1)))
    with pytest.raises(NoSiteError) as caught:
        find_sites(quartz, SiteSearchParams(element="Cu", energy_max=1.0))
    exc = caught.value
    assert isinstance(exc, ParameterError) and exc.parameter == "energy_max"
    assert (exc.element, exc.energy_max) == ("Cu", 1.0)
    assert exc.lowest == pytest.approx(1.5589, abs=1e-3)
    assert str(exc).startswith("energy_max: no site for Cu in this host below 1 eV (the lowest "
                               "minimum is 1.559 eV)")
    # the minimum it names is a site once the ceiling is above it
    sites = find_sites(quartz, SiteSearchParams(element="Cu", energy_max=1.56))
    assert sites.energies.min() == pytest.approx(exc.lowest, abs=1e-6)

    copy = pickle.loads(pickle.dumps(exc))  # crosses a process boundary (Dask) whole
    assert (copy.element, copy.energy_max, copy.lowest, str(copy)) == \
        (exc.element, exc.energy_max, exc.lowest, str(exc))
