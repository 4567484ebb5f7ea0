"""Equal-budget comparison: spec validation (no Ray) and one tiny comparison end to end."""

from __future__ import annotations

import json

import pytest

from hqnn_core.errors import ConfigError
from hqnn_core.sweeps.compare import CompareSpec, compare_table, compare_table_markdown
from hqnn_core.sweeps.stats import paired_difference
from tests.sweep_helpers import TINY, short_temp_dir, wait_until_gone

SPEC = {"name": "cmp", "base": TINY, "search": "random", "trials": 1, "seeds": [1, 2],
        "early_stopping": False, "space": {"train.lr": {"log_range": [0.02, 0.1]}}}


def test_compare_spec_builds_three_equal_arms():
    spec = CompareSpec.from_dict({**SPEC, "baseline": "mlp"})
    hybrid, twin, base = (spec.arms[a] for a in ("hybrid", "twin", "baseline"))
    assert twin.variant == "twin" and base.variant == "mlp"
    assert hybrid.trials == twin.trials == base.trials == 1
    assert hybrid.seeds == twin.seeds == base.seeds == (1, 2)
    assert {p.key for p in base.space} == {"baseline.hidden", "baseline.alpha", "baseline.lr"}
    assert CompareSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ConfigError, match="baseline='svm' is not supported"):
        CompareSpec.from_dict({**SPEC, "baseline": "svm"})
    with pytest.raises(ConfigError, match="must be a quantum model"):
        CompareSpec.from_dict({**SPEC, "base": {**TINY, "model": {"kind": "classical"}}})
    with pytest.raises(ConfigError, match="Unknown key"):
        CompareSpec.from_dict({**SPEC, "variant": "twin"})


@pytest.mark.slow
def test_a_tiny_comparison_end_to_end(tmp_path):
    from hqnn_core.sweeps.compare import run_compare
    from hqnn_core.sweeps.run import ray_session

    temp = short_temp_dir("hqc")
    with ray_session(num_cpus=2, temp_dir=temp):
        result = run_compare(CompareSpec.from_dict(SPEC), tmp_path / "cmp",
                             runs_root=tmp_path / "runs")
    assert wait_until_gone(temp) == []
    assert result.status == "completed"
    arms = result.arms
    assert all(arms[a].n_trials == 1 and sorted(arms[a].test_by_seed) == [1, 2] for a in arms)
    assert arms["hybrid"].parameters > 0 and arms["baseline"].parameters == 64 * 10 + 10
    expected = paired_difference([arms["hybrid"].test_by_seed[s] for s in (1, 2)],
                                 [arms["twin"].test_by_seed[s] for s in (1, 2)])
    assert result.differences["hybrid - twin"] == expected
    rows = compare_table(result)
    assert [r["model"] for r in rows] == ["hybrid", "twin", "baseline"]
    text = compare_table_markdown(result)
    assert "hybrid - twin" in text and "hybrid - baseline" in text and "95% CI" in text
    saved = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    for arm in arms.values():  # the tuning's own seconds, without the retraining on the seeds
        assert 0 < arm.search_seconds < arm.wall_seconds
        assert saved["arms"][arm.arm]["search_seconds"] == arm.search_seconds
