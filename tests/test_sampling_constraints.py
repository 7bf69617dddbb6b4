"""The registry of named constraints: one read-only `NAMED`, new registries built from it, and
every switched-on named constraint enforced by every space (sampling, contains, size)."""

from __future__ import annotations

import numpy as np
import pytest

from anynet import complexity
from sampling import AnyNetSpace, available, load_design_space
from sampling.constraints import NAMED, NamedConstraint, StageArrays, make_registry

LAST_SHALLOW = NamedConstraint("last_shallow", "d_4 <= d_3 (the published RegNets' shape)",
                               lambda a: a.depths[:, -1] <= a.depths[:, -2])
EVEN_DEPTH = NamedConstraint("even_depth", "total depth even",
                             lambda a: a.depths.sum(axis=1) % 2 == 0)
REGISTRY = make_registry([LAST_SHALLOW, EVEN_DEPTH], base=NAMED)


def test_package_registry_is_read_only_and_covers_the_built_in_names():
    assert list(NAMED) == ["shared_bottleneck_ratio", "shared_group_width",
                           "increasing_widths", "increasing_depths"]
    assert AnyNetSpace.structural <= set(NAMED)
    with pytest.raises(TypeError):
        NAMED["x"] = LAST_SHALLOW  # type: ignore[index]


def test_make_registry_returns_a_new_registry_and_refuses_bad_entries():
    assert list(REGISTRY) == [*NAMED, "last_shallow", "even_depth"]
    assert "last_shallow" not in NAMED  # the base is never changed
    with pytest.raises(ValueError, match=r"^named constraint 'increasing_widths': already "):
        make_registry([NamedConstraint("increasing_widths", "", LAST_SHALLOW.batch)], NAMED)
    with pytest.raises(ValueError, match=r"^named constraint 'a b': not allowed; the name"):
        make_registry([NamedConstraint("a b", "", LAST_SHALLOW.batch)])
    with pytest.raises(ValueError, match=r"^named constraint 'x': not allowed; use Named"):
        make_registry(["x"])  # type: ignore[list-item]


@pytest.mark.parametrize("base", ["anynetx_d", "anynetx_e", "regnetx"])
def test_registered_constraint_is_enforced(base):
    """A constraint the AnyNet tables do not build in is enforced by rejection: every sample
    satisfies it, contains() accepts the samples and rejects violators, size() refuses."""
    ov = ["design_space.resolution=28", "+design_space.constraints.last_shallow=true",
          "+design_space.constraints.even_depth=true"]
    space = load_design_space(base, ov, registry=REGISTRY)
    assert space.named[-2:] == ("last_shallow", "even_depth")
    pop = space.sample_many(range(50), seed=1)
    specs = [s.spec for s in pop.samples]
    assert all(s.depths[-1] <= s.depths[-2] and s.depth % 2 == 0 for s in specs)
    assert all(REGISTRY[c].check(s) for s in specs for c in space.named)
    step = 1 if base.startswith("anynet") else 10  # RegNet membership searches the grid
    assert all(space.contains(s) for s in specs[::step])
    assert pop.stats.rejected.get("last_shallow", 0) + pop.stats.rejected.get("even_depth", 0)
    # in order: even_depth judges what last_shallow passed, which judged what the space's own
    # rules passed (all of an AnyNet space's candidates)
    st = pop.stats
    assert st.judged["even_depth"] == st.judged["last_shallow"] - st.rejected["last_shallow"]
    assert (st.judged["last_shallow"] == st.tried) == base.startswith("anynet")
    plain = load_design_space(base, ["design_space.resolution=28"])
    others = [s.spec for s in plain.sample_many(range(50), seed=1).samples]
    bad = [s for s in others if s.depths[-1] > s.depths[-2] or s.depth % 2]
    assert len(bad) > 5  # the constraint bites
    assert not any(space.contains(s) for s in bad[:3])
    if base.startswith("anynet"):
        with pytest.raises(ValueError, match=r"\['last_shallow', 'even_depth'\] is applied by "
                                              "rejection and cannot be counted exactly"):
            space.size()
    with pytest.raises(ValueError, match=r"^design_space.constraints.last_shallow: unknown "):
        load_design_space(base, ov)  # the package's registry never learned it


def test_a_malformed_batch_test_fails_with_one_line():
    broken = make_registry([NamedConstraint("broken", "", lambda a: a.depths.sum(axis=1))],
                           NAMED)
    space = load_design_space("anynetx_a", ["+design_space.constraints.broken=true"],
                              registry=broken)
    with pytest.raises(ValueError, match=r"^named constraint 'broken': its batch test returned "
                                         r"int64 of shape \(\d+,\); it must return a bool"):
        space.sample(0)


@pytest.mark.parametrize("resolution", [28, 224])
@pytest.mark.parametrize("name", available())
def test_every_packaged_space_satisfies_every_constraint_it_enables(name, resolution):
    space = load_design_space(name, [f"design_space.resolution={resolution}"])
    specs = [s.spec for s in space.sample_many(range(50), seed=7).samples]
    arrays = StageArrays.from_specs(specs)
    for c in space.named:
        assert space.registry[c].mask(arrays).all(), c
        assert all(space.registry[c].check(s) for s in specs), c
    for s in specs:
        cx = complexity(s, resolution)
        assert all(w.check(w.values(cx)) for w in space.windows)
        assert all(c.check(s) for c in space.custom)
    step = 1 if name.startswith("anynet") else 10  # RegNet membership searches the grid
    assert all(space.contains(s) for s in specs[::step])
    # the named constraints a space leaves off are violated by some of its samples
    if name.startswith("anynet"):
        off = [c for c in NAMED if c not in space.named]
        assert all(not np.all(NAMED[c].mask(arrays)) for c in off)


def test_a_built_in_name_with_another_test_is_enforced_by_rejection():
    """A registry that gives a built-in name another test gets that test, not the tables'."""
    decreasing = NamedConstraint("increasing_widths", "w_{i+1} <= w_i (a registry's own)",
                                 lambda a: (np.diff(a.widths, axis=1) <= 0).all(axis=1))
    registry = make_registry([*(c for c in NAMED.values() if c.name != decreasing.name),
                              decreasing])
    space = load_design_space("anynetx_d", ["design_space.resolution=28"], registry=registry)
    assert space.structural == {"shared_bottleneck_ratio", "shared_group_width",
                                "increasing_depths"}
    specs = [s.spec for s in space.sample_many(range(20), seed=2).samples]
    assert all(list(s.widths) == sorted(s.widths, reverse=True) for s in specs)
    assert sum(len(set(s.widths)) > 1 for s in specs) > 10
    assert all(space.contains(s) for s in specs)
    plain = load_design_space("anynetx_d", ["design_space.resolution=28"])
    rising = next(s.spec for s in plain.sample_many(range(10), seed=2).samples
                  if len(set(s.spec.widths)) > 1)
    assert plain.contains(rising) and not space.contains(rising)
    with pytest.raises(ValueError, match=r"\['increasing_widths'\] is applied by rejection"):
        space.size()


def test_built_in_constraints_are_guarded_even_if_the_tables_break_them():
    """The built-in constraints are tested on the rows that pass everything else: a sampler
    that stopped chaining depths would be caught, not trusted."""
    space = load_design_space("anynetx_e", ["design_space.resolution=28"])
    space.chain_d = False  # the depth tables still chain, the draw no longer does
    pop = space.sample_many(range(30), seed=4)
    assert all(list(s.spec.depths) == sorted(s.spec.depths) for s in pop.samples)
    assert pop.stats.rejected["increasing_depths"] > 0
