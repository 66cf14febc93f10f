"""Issue 17: `seqkit num2words -` on many numbers shows progress on a terminal, nothing otherwise
(issue 29: stdin is streamed, so the count has no known end)."""

import seqkit_numerals.plugin as plugin

from seqkit.testing import run_cli


def test_many_numbers_from_stdin_show_progress_only_on_a_terminal():
    numbers = "\n".join(str(n * 7919) for n in range(1300)) + "\n"  # three chunks of 512
    quiet = run_cli(["num2words", "-"], plugins=[plugin], input=numbers)
    assert quiet.exit_code == 0, quiet.output
    assert "numbers" not in quiet.stderr  # not a terminal: silent
    shown = run_cli(["num2words", "-"], plugins=[plugin], input=numbers, env={"SEQKIT_PROGRESS": "1"})
    assert shown.exit_code == 0 and "numbers" in shown.stderr and "1300/?" in shown.stderr
    assert shown.stdout == quiet.stdout  # chunking changes nothing in the words, nor their order
    lines = quiet.stdout.splitlines()
    assert len(lines) == 1300 and lines[0] == "zero" and lines[1] == "seven thousand, nine hundred and nineteen"
