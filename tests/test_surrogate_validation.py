"""The surrogate pipeline on real first-principles spectra (../shared/data; skipped without it).

XANESNET's S K-edge set: 98 small molecules to train on and 10 held out (its own split), ORCA
spectra, absorber S listed first. The same pipeline the window uses: a SOAP row of the absorber,
PCA of the spectra, a Gaussian process.

The peer on its own split (session 36; XANESNET from GitHub NewcastleRSE/xray-spectroscopy-ml at
69dd041, not on PyPI, run outside the project with torch 2.15 and dscribe 1.2.2; its data
byte-identical to this folder): its standard MLP (inputs/in_mlp.yaml as shipped: wACSF r 1-6 Å,
16 G2 + 32 G4; 3 × 256 ReLU, dropout 0.1, Adam 1e-3, 100 epochs, raw intensities, 20 % of the 98
held back for validation) scores a mean cosine of 0.910 with the seeds its yaml suggests
(2025/2021) and 0.879 ± 0.017 over 11 seeds (0.863-0.910), the 11 averaged 0.887; learning from
all 98 (its validation split patched out, a measurement only) 0.899 ± 0.022 (0.870-0.933), the 11
averaged 0.913. Its CNN and AE-MLP inputs as shipped 0.836 and 0.846, its GNN for this set (pDOS +
wACSF, GATv2) 0.65-0.76 as shipped (10 epochs) and 0.85-0.87 with 100. The training mean alone:
0.848 in the same evaluation. This pipeline's 0.937 is above every one of them; the 0.95 asked is
above what the set's own authors' code reaches.

Why 0.95 is out of reach here: the 10 test molecules are all thioureas (S=C(N)N), a family with
2 members among the 98 training ones, and larger (18-21 atoms, 82-84 electrons) than every
training molecule (≤ 17 atoms, ≤ 72): their ORCA spectra end at 2417-2420 eV where every training
spectrum runs to 2422-2445 eV (a fixed number of TDDFT roots spans less energy in a bigger
molecule). Chosen by cross-validation on the training split only (random 5-fold, and grouped by
the S bonding pattern to mimic a new family): SOAP r_cut 3-5 Å, n_max 6-8, l_max 4-6, σ 0.3-0.5;
local features (S coordination by element, bond lengths); products of SOAP and local-feature
kernels; Laplacian/RBF/normalised-SOAP-dot kernel ridge; unit-norm and edge-aligned targets. The
best, Laplacian kernel ridge on SOAP × local features, gains 0.006 in cross-validation (0.944 vs
0.939) and nothing on the test split (0.935-0.938), so the Gaussian process stays.

A second round (mean cosine; CV on the training split only: random 5-fold / grouped 5-fold by
the S bonding pattern and its neighbours' elements / trained on < 72 electrons, checked on the 27
with 72; the test split looked at once per final candidate):

    candidate                                        random  grouped  size   test
    SOAP + GP (this test)                            0.936   0.924    0.955  0.937
    wACSF (XANESNET's descriptor) + GP               0.935   0.925    0.950  0.899
    ACSF by element (same grids) + GP                0.936   0.921    0.949
    wACSF + ridge / kernel ridge                     0.925   0.912    0.944
    SOAP + GP with a linear (dot-product) kernel part 0.937  0.922
    SOAP or wACSF + atom/electron/element counts, GP 0.935   0.925
    wACSF + GP on √intensity; own GPs for 5 scores   0.934   0.925    0.950
    SOAP and wACSF blocks weighted equally, one GP   0.941   0.930    0.955  0.931
      … plus atom/electron/element counts            0.940   0.929    0.962  0.920
    mean of SOAP + GP and wACSF + GP                 0.940   0.931    0.956  0.933
    wACSF + MLP (256) on the raw spectrum, best α    0.927   0.923
    SOAP + GP, cut where the spectrum should end:
      end linear in the element counts               0.938   0.927    0.963  0.946
      end linear in the electron count               0.935   0.923    0.964  0.948
      (a 0.5 eV logistic edge at the end energy fitted on the training spectra)

Ceilings: 30 PCA components reconstruct held-out spectra to 0.992. The single best training
spectrum for each other training one reaches 0.954, but for each thiourea only 0.909 (0.925
when it may also shift by up to 2 eV): the GP's 0.937 already beats any one training spectrum.
Their first peak (first maximum above 0.3 of the highest) lies at 2401.8-2402.9 eV; among the
98 training spectra only one starts below 2404 eV (2402.3; median 2405.2): the test split asks
to extrapolate the pre-edge, not to interpolate. The choices that win the random and grouped CV
(two descriptors together) lose on the thioureas. Only modelling where the spectrum ends moves
the test split (0.946, with the end from element counts, which all three CVs prefer): the ORCA
truncation, not the local structure, is much of what the 0.95 misses, and nothing chosen honestly
reaches it. The cut is not in the pipeline: it fits one code's fixed number of roots, and a
prediction from a descriptor row alone cannot know the molecule's composition.

A third round (same protocol, random 5-fold CV / test):

    SOAP r_cut 6/8/10 Å (the whole molecule), σ 0.3/0.5/1.0      0.934-0.948 / 0.868-0.929
    SOAP scaled as one block, or each row to unit norm          0.943 / 0.931
    signed square root of SOAP, standardised                    0.945 / 0.937
    standardised, the half of the columns with least variance
      dropped                                                   0.942 / 0.939
    SOAP reduced by PCA to 10/20/40 components (whitened or not) 0.930-0.943 / 0.931-0.938
    SOAP + the built-in xTB spectrum of the whole molecule (FCH, delta-SCF; 0.02 s each),
      its first 5-20 PCA scores as a block weighted 0.3-3x    0.941-0.948 / 0.927-0.937
    GP hyperparameters set by CV instead of the marginal likelihood (Matern ν 0.5-2.5,
      length 20-150, noise 1e-4-0.024; ML's own: ν 2.5, 74, 0.024)   best 0.943 / 0.937
    kernel-weighted mean of training spectra (Nadaraya-Watson, Gaussian or Laplacian
      weights, bandwidth 0.02-0.4 of the median distance)       ≤ 0.934 / ≤ 0.928
    the xTB edge (first final state, or first strong stick/peak: r = 0.76-0.86 with ORCA's
      first peak, 1.4 eV scatter) as the energy the GP's targets are aligned to  0.918-0.930 / 0.851-0.907
    … or as a ridge trend under the GP (α 1-100)                0.935-0.940 / 0.855-0.938

The xTB block (multi-fidelity: a cheap calculation as a feature) gains most in cross-validation
and loses most on the thioureas, like every choice before that the random CV prefers.

A fourth try, for the extrapolation itself: a linear model can reach below the training
spectra's first peaks where a GP cannot. The first peak predicted by ridge regression (on S's
bonded neighbours by element and their shortest distances, on SOAP, or on both: 0.63-0.69 eV
mean error in CV), and the GP predicting the shape of spectra aligned at their first peak, then
moved there: CV 0.898-0.908 against the plain GP's 0.940 in the same folds, so not taken to
the test split.

A fifth round, physics from the built-in calculator (random 5-fold ×3 / size split / test):
GFN1-xTB of each whole molecule gives S's Mulliken charge, which predicts the first peak
linearly (r = 0.77 on the training split) to 0.6 eV on the thioureas, whose charges lie at and
below the training minimum. The plain GP puts a pre-edge peak at about the right energy but
too weak; with the true spectrum put in by hand, 2408-2418 eV would gain 0.035, the pre-edge
0.016, the region past the ORCA end 0.007: no one part holds the missing 0.013.

    SOAP + GP (this test)                                         0.936 / 0.955 / 0.937
    + S charge, HOMO, LUMO (xTB) in the Matérn block, ×0.3         0.940 / 0.957 / 0.933
    + the same three under a linear (dot-product) kernel part      0.939 / 0.956 / 0.933
    + S charge, S s/p/d populations, linear kernel part            0.938 / 0.956
    Δ-learning: GP on ORCA − a·xTB spectrum (FCH or XCH, one
      global shift; xTB alone scores 0.61-0.66 on the test split)  0.922 / 0.944

Again what cross-validation prefers loses on the thioureas.

A sixth round, the descriptor the XANESNET group itself introduced for S K edges (p-DOS:
Middleton, Curchod, Penfold, PCCP 2024): S's Löwdin-projected s, p and d density of states
(occupied and empty) of the whole molecule from GFN1-xTB, Gaussian-broadened (0.8-1.5 eV) on a
-25..5 eV grid, as a block next to SOAP (each block standardised to unit total variance):

    p-DOS alone                                                   0.944 / 0.957 / 0.933
    SOAP + p-DOS (×0.5-5; ×2 best in CV)                          0.941-0.946 / 0.956-0.957 / 0.933
    p only, or occupied and empty apart, or a wider grid          0.941-0.945 / 0.956-0.957

The best cross-validation of all six rounds, and again 0.933 on the thioureas.

A seventh round (session 28; random 5-fold ×3 / grouped 5-fold by the elements bonded to S, in
which the plain GP scores 0.937 / 0.904 / test 0.937):

    spectra as quantile functions Q(p) (optimal-transport averaging: moves
      peaks instead of blending them), GP or ridge                0.874-0.926 / 0.754-0.902
    … blended 0.4 with the spectrum GP                           0.939 / 0.912 / 0.935
    the GP on cumulative spectra, then differentiated            0.938 / 0.906 / 0.939
    SOAP + Weisfeiler-Lehman subtree counts of the bond graph
      around S (2-3 iterations), block or product kernel          0.938-0.943 / 0.888-0.914 / 0.928
    … plus 0.2 of the quantile GP (best CV of the round)         0.944 / 0.918 / 0.930
    SOAP at 2.5/3.5/5 Å as equal blocks; ARD Matérn on 10-20
      SOAP principal components                                  0.933-0.942 / 0.869-0.906

30 components of Q(p) rebuild spectra to only 0.95-0.985 (the spectra themselves: 0.992). The
cumulative model is the same linear model as the plain GP with other fitted hyperparameters: its
+0.002 is noise. Again the cross-validation's best loses most on the thioureas.
"""
import numpy as np

from amorpha.engine.descriptors import SoapParams, WacsfParams
from amorpha.engine.spectra import read_spectrum_folder, site_spectra
from amorpha.engine.surrogate.metrics import spectrum_metrics
from amorpha.engine.surrogate.model import SurrogateParams
from amorpha.engine.surrogate.pipeline import train_from_folder


def test_xanesnet_s_k_held_out_spectra(shared_data):
    folder = read_spectrum_folder(shared_data / "spectra/xanesnet_s_k", edge="K")
    train, test = folder.subset("train"), folder.subset("test")
    assert (len(train), len(test)) == (98, 10)  # 4 files on disk have no partner (named in problems)
    species = tuple(sorted({s for r in folder.records for s in r.atoms.get_chemical_symbols()}))
    soap = SoapParams(species=species, r_cut=3.0, n_max=6, l_max=4, sigma=0.3, periodic=False)

    y_train = site_spectra(train)
    y_test = site_spectra(test, y_train.energy)
    model = train_from_folder(folder, soap, SurrogateParams(regressor="gp"))
    m = model.metrics
    assert m["measured_on"] == "the folder's test split" and m["n"] == 10
    baseline = spectrum_metrics(y_test.energy, y_test.intensity,
                                np.tile(y_train.intensity.mean(axis=0), (len(test), 1)))
    # Measured: cosine 0.937 (the training mean alone: 0.848; XANESNET's own MLP 0.879 ± 0.017
    # over seeds, module docstring). The issue asks 0.95: still open.
    assert m["cosine_mean"] >= 0.92 and m["cosine_mean"] > baseline["cosine_mean"] + 0.07, m
    assert m["rmse"] < 0.8 * baseline["rmse"], (m, baseline)



def test_xanesnet_s_k_as_the_window_trains_it(shared_data):
    """Train from folder… as a user does: no edge given (the energies say S K), SOAP settings
    chosen by cross-validation on the training split (5 Å, σ 0.3 wins there: 0.947 against 0.940
    for the hand-picked 3 Å of the test above, which grouped CV preferred), the test split seen
    once. The built-in default (5 Å, σ 0.5) alone scored 0.908 here."""
    folder = read_spectrum_folder(shared_data / "spectra/xanesnet_s_k")
    assert folder.edge_note.startswith("S K edge from the energies")
    model = train_from_folder(folder)
    assert (model.element, model.edge) == ("S", "K")
    assert (model.descriptor["r_cut"], model.descriptor["sigma"]) == (5.0, 0.3), model.metrics["descriptor_cv"]
    # Measured: 0.927.
    assert 0.92 < model.metrics["cosine_mean"] < 0.937, model.metrics


def test_xanesnet_s_k_with_xanesnets_own_descriptor(shared_data):
    """wACSF of the absorber (XANESNET's choice) through the same pipeline: as good as SOAP in
    cross-validation on the training split (0.935 vs 0.936), worse on the thioureas (0.90); still
    above XANESNET's own MLP on the same descriptor (0.879 ± 0.017 over seeds)."""
    folder = read_spectrum_folder(shared_data / "spectra/xanesnet_s_k", edge="K")
    model = train_from_folder(folder, WacsfParams(periodic=False), SurrogateParams(regressor="gp"))
    assert model.descriptor["kind"] == "wacsf" and model.metrics["n"] == 10
    # Measured: 0.899; the training mean alone scores 0.848.
    assert 0.87 < model.metrics["cosine_mean"] < 0.937, model.metrics

def test_feff_cu_k_sites_train_a_model_through_the_same_pipeline(shared_data):
    """Ten FEFF9 Cu K sites of seven crystals: too few to learn from (R² < 0 here), but they must
    go through reading, periodic SOAP of each crystal and cross-validation like any folder."""
    folder = read_spectrum_folder(shared_data / "spectra/cu_k_feff")
    assert folder.layout == "feff" and len(folder.records) == 10 and not folder.problems
    model = train_from_folder(folder, params=SurrogateParams(regressor="kernel_ridge"))
    assert model.element == "Cu" and model.edge == "K" and model.descriptor["periodic"] is True
    assert model.metrics["measured_on"].startswith("5-fold cross-validation") and model.metrics["n"] == 10
    assert model.metrics["cosine_mean"] > 0.99  # normalised K edges of Cu compounds look alike
