import itertools

import numpy as np
import pytest

from cli.main import main


def all_instances(n: int):
    """Every (x, k) of Index on n bits: x as (2^n * n) x n, k as the matching queries."""
    xs = np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.int64)
    x = np.repeat(xs, n, axis=0)
    k = np.tile(np.arange(1, n + 1), xs.shape[0])
    return x, k


@pytest.fixture
def instances():
    return all_instances


def is_tree_union_find(edges, n_nodes: int) -> bool:
    """An independent IsTree check for the tests: N - 1 edges joining N nodes without a cycle (union-find)."""
    parent = list(range(n_nodes + 1))

    def find(a):
        while parent[a] != a:
            a = parent[a]
        return a

    for u, v in edges:
        ru, rv = find(u), find(v)
        if ru == rv:
            return False
        parent[ru] = rv
    return len(edges) == n_nodes - 1


def run_cli(args, capsys):
    """Run the command line in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err
