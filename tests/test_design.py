"""The design's promises that code could quietly break: arrows one way, tasks as frozen validated dataclasses whose
labels, specs and options are derived from their fields, one algorithm signature for every registered algorithm."""
import dataclasses
from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest

from streaming.algorithms import REGISTRY
from streaming.tasks import TASKS, make_task, task_from_label, task_from_spec
from streaming.tokens import NUM0


def imported_after(code: str) -> set:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
                         check=True, capture_output=True, text=True).stdout
    return set(out.split())


def test_commcomplexity_imports_nothing_from_streaming():
    mods = imported_after("import commcomplexity.bounds, commcomplexity.info, commcomplexity.protocols, "
                          "commcomplexity.stats")
    assert not {m for m in mods if m.split(".")[0] in ("streaming", "cli", "numba", "torch")}


def test_streaming_imports_neither_cli_nor_torch_nor_dask():
    mods = imported_after("import streaming.sweep, streaming.experiments, streaming.adversary, streaming.exact, "
                          "streaming.benchmarks, streaming.cluster")
    assert not {m for m in mods if m.split(".")[0] in ("cli", "torch", "transformers", "matplotlib", "dask",
                                                          "distributed")}


@pytest.mark.parametrize("name", sorted(TASKS))
def test_tasks_are_frozen_and_their_labels_and_specs_round_trip(name):
    cls = TASKS[name]
    for distribution in cls.distributions:
        task = make_task(name, cls.size_for(9), distribution)
        with pytest.raises(dataclasses.FrozenInstanceError):
            task.n = 5
        assert task_from_label(name, task.n, task.label()) == task
        assert task_from_spec(task.spec()) == task and task_from_spec(task.spec(), task.n - 2).n == task.n - 2
        assert set(task.spec()["options"]) == {f.name for f in cls.option_fields()}
        batch = task.batch(1, 0, 3)
        assert batch.tokens.shape == (3, task.length) and batch.queries == task.query_positions
        assert batch.answers.shape == ((3,) if task.queries == 1 else (3, task.queries))
        assert batch.tokens.max() < NUM0 + task.vocab and batch.tokens.min() >= 0


@pytest.mark.parametrize("name", sorted(TASKS))
def test_options_are_validated_by_type(name):
    cls = TASKS[name]
    for f in cls.option_fields():
        for bad in ("3", True, float("nan"), float("inf")) + ((2.5,) if f.metadata["kind"] is int else ()):
            with pytest.raises(ValueError):
                make_task(name, cls.size_for(8), **{f.name: bad})
    with pytest.raises(ValueError):
        make_task(name, cls.size_for(8), nosuch=1)
    with pytest.raises(ValueError):
        make_task(name, 2.5)


def test_every_algorithm_has_the_one_signature():
    """plan(task, b, coins) -> params starting with n, b; used_bits(task, b) <= b; settings(task, b) -> str."""
    for (name, _), alg in REGISTRY.items():
        task = make_task(name, TASKS[name].size_for(8))
        for b in (0, 5, 40):
            params = alg.make_params(task, b, np.uint64(7))
            assert params.dtype == np.int64 and params[0] == task.n and params[1] == b
            assert 0 <= alg.used_bits(task, b) <= b and isinstance(alg.settings(task, b), str)


def test_numba_caches_built_with_other_tokens_are_dropped(tmp_path):
    """numba keys a cache by its own source file only: a change of the token list must drop the caches, or a
    cached generator would keep writing the old token ids."""
    import shutil

    import streaming

    package = tmp_path / "streaming"
    shutil.copytree(Path(streaming.__file__).parent, package,
                    ignore=shutil.ignore_patterns("*.nbi", "*.nbc", "*.pyc"))
    cache = package / "tasks" / "__pycache__"
    cache.mkdir(exist_ok=True)
    stale = cache / "index_stream.index_tokens-1.py311.nbi"
    stale.write_bytes(b"built with other tokens")
    (package / "__pycache__").mkdir(exist_ok=True)
    (package / "__pycache__" / "tokens.stamp").write_text("<s> ~ YES NO")
    subprocess.run([sys.executable, "-c", "import streaming"], cwd=tmp_path, check=True)
    assert not stale.exists()
    from streaming.tokens import SPECIALS

    assert (package / "__pycache__" / "tokens.stamp").read_text() == " ".join(SPECIALS)
    stale.write_bytes(b"built with these tokens")  # the same tokens: the caches stay
    subprocess.run([sys.executable, "-c", "import streaming"], cwd=tmp_path, check=True)
    assert stale.exists()
