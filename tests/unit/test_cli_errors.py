"""gridsight.ml.cli_errors: the one error line of gridsight.ml.cli and gridsight.ml.label_cli."""

from gridsight.ml.cli_errors import ONE_LINE_MAX_CHARS, fail, one_line


def test_fail_prints_one_error_line_on_stderr_and_returns_the_code(capsys):
    assert fail("no such dataset") == 2
    assert fail("the API refused", 1) == 1
    out = capsys.readouterr()
    assert out.out == "" and out.err == "error: no such dataset\nerror: the API refused\n"


def test_one_line_flattens_whitespace_caps_the_length_and_names_a_silent_exception():
    assert one_line(ValueError("bad\n  file\tname ")) == "bad file name"
    assert one_line(OSError("x" * 1000)) == "x" * ONE_LINE_MAX_CHARS
    assert one_line(KeyError()) == "KeyError"
