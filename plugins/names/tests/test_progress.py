"""Issue 17: `seqkit names -n` in the hundreds shows that it is working, on a terminal only."""

import seqkit_names.plugin as plugin

from seqkit.testing import run_cli


def test_many_names_show_progress_only_on_a_terminal():
    args = ["names", "--country", "Greek", "-n", "150", "--seed", "0"]
    quiet = run_cli(args, plugins=[plugin])
    assert quiet.exit_code == 0, quiet.output
    assert len(quiet.stdout.splitlines()) == 150 and "sampling" not in quiet.stderr
    shown = run_cli(args, plugins=[plugin], env={"SEQKIT_PROGRESS": "1"})
    assert shown.exit_code == 0 and "sampling 150 names" in shown.stderr
    assert shown.stdout == quiet.stdout
    few = run_cli(["names", "--country", "Greek", "-n", "5", "--seed", "0"], plugins=[plugin],
                  env={"SEQKIT_PROGRESS": "1"})
    assert few.exit_code == 0 and "sampling" not in few.stderr  # quick: no bar
