"""Every mistake is one line: hostile option values drawn by hypothesis for every command must give exit code 2,
exactly one line on stderr, no traceback, and leave every existing file as it was."""
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import main

BAD_INT = st.sampled_from(["-1", "-5", "0x10", "1e30", "inf", "nan", "", "99999999999999999999", "3.5", "abc",
                           "18446744073709551617"])
BAD_POSITIVE = st.one_of(BAD_INT, st.just("0"))
BAD_LIST = st.sampled_from(["0:8", "8:0:1", "0:5:0", "-1", "a,b", "1:2:3:4", "0:99999999999:1", ",", "nan",
                            "99999999999999999999", "0:16:x", "-4:4:2"])
BAD_FLOAT = st.sampled_from(["nan", "inf", "-inf", "1e400", "-0.5", "x", ""])
BAD_FRACTIONS = st.sampled_from(["nan", "inf", "-0.5", "0:1", "1:0:0.5", "0:1:0", "x", "1e300", "0:1e9:1e-9"])
BAD_NAME = st.sampled_from(["nosuch", "", "INDEX", "index ", "../x", "a,b", "all,all"])

#: (command words, valid options, {option: strategy of values that must each be refused})
COMMANDS = [
    (["sweep"], ["--n", "16", "--budgets", "0:8:4", "--trials", "10"],
     {"--n": BAD_LIST, "--budgets": BAD_LIST, "--fractions": BAD_FRACTIONS, "--trials": BAD_POSITIVE,
      "--seed": BAD_INT, "--coin-seed": BAD_INT, "--task": BAD_NAME, "--distribution": BAD_NAME,
      "--algorithms": BAD_NAME, "--bias": BAD_FLOAT}),
    (["sweep", "--task", "mqar"], ["--n", "16", "--budgets", "0:8:4", "--trials", "10"],
     {"--queries": BAD_POSITIVE, "--keys": BAD_INT, "--values": BAD_INT}),
    (["bound"], ["--n", "64"], {"--n": BAD_POSITIVE, "--bits": BAD_INT, "--success": BAD_FLOAT, "--task": BAD_NAME}),
    (["algorithms"], ["--n", "16", "--budget", "8"], {"--n": BAD_POSITIVE, "--budget": BAD_INT, "--task": BAD_NAME}),
    (["exact"], ["--m", "3", "--bits", "1"], {"--m": BAD_POSITIVE, "--bits": BAD_LIST, "--time-limit": BAD_FLOAT,
                                              "--task": BAD_NAME}),
    (["adversary"], ["--algorithm", "prefix", "--n", "16", "--budget", "4"],
     {"--n": BAD_POSITIVE, "--budget": BAD_INT, "--algorithm": BAD_NAME, "--time-limit": BAD_FLOAT,
      "--seed": BAD_INT}),
    (["figures", "index"], [], {"--trials": BAD_POSITIVE, "--seed": BAD_INT}),
    (["bench", "engine"], ["--n", "8", "--trials", "10", "--repeats", "1"],
     {"--n": BAD_POSITIVE, "--trials": BAD_POSITIVE, "--repeats": BAD_POSITIVE}),
    (["bench", "adversary"], [], {"--n": st.sampled_from(["0", "1", "25", "-3", "x"])}),
]


def snapshot(folder: Path) -> dict:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def workspace() -> Path:
    """A folder with a results file, a foreign file and a folder where a file is expected."""
    root = Path(tempfile.mkdtemp(prefix="fuzz-"))
    (root / "results").mkdir()
    (root / "results" / "keep.csv").write_text("task,distribution\nindex,uniform\n")
    (root / "foreign.csv").write_bytes(b"\x00\xffnot ours")
    (root / "a-folder.csv").mkdir()
    return root


def run_in(root: Path, args, capsys):
    cwd = os.getcwd()
    os.chdir(root)
    try:
        with pytest.raises(SystemExit) as exc:
            main(args)
    finally:
        os.chdir(cwd)
    out = capsys.readouterr()
    return exc.value.code, out.err


@pytest.mark.parametrize("words,valid,bad", COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_hostile_values_are_one_line_and_change_nothing(words, valid, bad, capsys):
    options = sorted(bad)

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
              derandomize=True)
    @given(data=st.data())
    def check(data):
        option = data.draw(st.sampled_from(options))
        value = data.draw(bad[option])
        args = [*words, *valid]
        if option in args:  # replace the valid value with the hostile one
            i = args.index(option)
            args[i + 1] = value
        else:
            args += [option, value]
        if option == "--fractions" and "--budgets" in args:
            i = args.index("--budgets")
            del args[i : i + 2]
        root = workspace()
        try:
            before = snapshot(root)
            code, err = run_in(root, args + (["--out", "out.csv"] if words[0] == "sweep" else []), capsys)
            assert code == 2, (args, err)
            assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (args, err)
            after = snapshot(root)
            assert {p: h for p, h in after.items() if p in before} == before, args
        finally:
            shutil.rmtree(root)

    check()


@pytest.mark.parametrize("args", [
    ["sweep", "--n", "16", "--budgets", "4", "--trials", "10", "--out", "a-folder.csv"],
    ["sweep", "--n", "16", "--budgets", "4", "--trials", "10", "--out", "foreign.csv"],
    ["sweep", "--n", "16", "--budgets", "4", "--trials", "10", "--out", "foreign.csv", "--overwrite"],
    ["sweep", "--n", "16", "--budgets", "4", "--trials", "10", "--out", "results/keep.csv", "--overwrite"],
    ["sweep", "--n", "16", "--budgets", "4", "--trials", "10", "--out", "/proc/nope/x.csv"],
    ["sweep", "--n", "16", "--budgets", "4", "--trials", "10", "--plot", "a-folder.csv.png/x.gif"],
    ["plot", "foreign.csv", "--out", "f.png"],
    ["plot", "a-folder.csv", "--out", "f.png"],
    ["plot", "results/keep.csv", "--out", "a-folder.csv"],
    ["replay", "foreign.csv"],
    ["replay", "a-folder.csv"],
])
def test_hostile_paths_are_one_line_and_change_nothing(args, capsys):
    root = workspace()
    try:
        before = snapshot(root)
        code, err = run_in(root, args, capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert {p: h for p, h in snapshot(root).items() if p in before} == before
    finally:
        shutil.rmtree(root)
