"""Ring results say their bonds: exported files name the cutoffs and the structure, and a
supercell forced by an absurd cutoff is blamed on the cutoff, not the cell (rings audit)."""
import csv

from amorpha.engine.build.crystals import alpha_quartz
from amorpha.engine.order.rings import RingParams, compute_rings, write_ring_statistics, write_ring_table

SI_O = {("Si", "O"): 2.0, ("Si", "Si"): 0, ("O", "O"): 0}


def test_exported_ring_files_name_the_cutoffs_and_the_structure(tmp_path):
    """The CSVs said only "# rings: primitive, max size 24 atoms": without the cutoffs (a-Si's
    histogram changed completely between 2.66 and 2.4 Å) no one could reproduce them."""
    result = compute_rings(alpha_quartz((2, 2, 2)), RingParams(cutoffs=SI_O, count_element="Si"))
    assert result.cutoffs == {"Si-O": 2.0, "Si-Si": 0.0, "O-O": 0.0} and result.to_dict()["cutoffs"] == result.cutoffs
    for write, header in ((write_ring_statistics, "size"), (write_ring_table, "ring")):
        path = tmp_path / f"{write.__name__}.csv"
        write(result, path, "quartz.cif")
        text = path.read_text()
        assert "# bond cutoffs: Si–Si off, Si–O 2 Å, O–O off\n" in text and "# structure: quartz.cif\n" in text
        rows = list(csv.reader(line for line in text.splitlines() if not line.startswith("#")))
        assert rows[0][0] == header and len(rows) > 1  # readers that skip "#" lines read it as before


def test_a_supercell_forced_by_a_long_cutoff_names_the_cutoff():
    """A 10 Å Si–O cutoff on a 24.7 Å glass: "the cell is too small for rings of 24 atoms" blamed
    the cell. Here 3 Å (1.7× the covalent Si–O length) on quartz's cell; its own cutoff's
    supercell message stays about the cell."""
    messages = []
    cutoffs = {**SI_O, ("Si", "O"): 3.0}
    compute_rings(alpha_quartz(), RingParams(max_size=12, cutoffs=cutoffs),
                  progress=lambda f, m: messages.append(m))
    said = [m for m in messages if "too small" in m]
    assert said and "with the Si–O cutoff of 3 Å (1.7× its covalent bond length, 1.77 Å)" in said[0]
    messages.clear()
    compute_rings(alpha_quartz(), RingParams(max_size=12, cutoffs=SI_O), progress=lambda f, m: messages.append(m))
    said = [m for m in messages if "too small" in m]
    assert said and "cutoff" not in said[0]
