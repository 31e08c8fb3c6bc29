"""The README and docs/ stay true (issue 17, "The README"): a README a newcomer finishes (short, its
two set-up commands real Makefile targets, every `gridsight ...` line one the CLI accepts, its
config example one the worker accepts), and a reference whose links, anchors, variables and
settings match the code."""

from __future__ import annotations

import re
import shlex
import unicodedata
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = sorted(DOCS.glob("*.md"))
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def prose(markdown: str) -> str:
    """The markdown without its fenced blocks (a '#' line in a bash block is no heading)."""
    return FENCE.sub("", markdown)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but - and _ dropped, spaces to hyphens."""
    heading = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.strip().lower())
    kept = "".join(c for c in heading if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for line in prose(text(path)).splitlines():
        if line.startswith("#"):
            base = slug(line.lstrip("#"))
            name, n = base, 1
            while name in found:
                name, n = f"{base}-{n}", n + 1
            found.add(name)
    return found


def links(path: Path) -> list[str]:
    return [a or b for a, b in LINK.findall(prose(text(path)))]


def test_slug_is_githubs():
    assert slug("Model lifecycle: train, evaluate, export") == "model-lifecycle-train-evaluate-export"
    assert slug("`GRIDSIGHT_LOCAL_UTC_OFFSET` (removed)") == "gridsight_local_utc_offset-removed"
    assert slug("`actions.hooks.<name>`") == "actionshooksname"
    assert slug("Set-up: the two commands") == "set-up-the-two-commands"


def test_readme_is_short_and_links_every_docs_page():
    lines = text(README).splitlines()
    assert len(lines) < 220, f"README.md has {len(lines)} lines; the reference belongs in docs/"
    linked = {(README.parent / target.split("#")[0]).resolve() for target in links(README)}
    unlinked = [p.name for p in PAGES if p.resolve() not in linked]
    assert not unlinked, f"docs pages the README does not link: {unlinked}"


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.relative_to(REPO).as_posix())
def test_relative_links_and_anchors_resolve(page: Path):
    broken = []
    for target in links(page):
        if re.match(r"^[a-z]+:", target):  # http(s)://, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading '#{anchor}' in {dest.relative_to(REPO)}")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)


def test_screenshot_is_committed_and_small():
    shot = DOCS / "img" / "dashboard.png"
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "docs/img/dashboard.png"
    assert shot.stat().st_size < 300 * 1024, f"{shot.stat().st_size} bytes; keep it under 300 KB"


def test_the_two_setup_commands_are_makefile_targets():
    setup = text(README).split("## Set-up: the two commands", 1)[1].split("\n## ", 1)[0]
    block = FENCE.search(setup).group(2)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    targets = set(re.findall(r"^([a-z][\w-]*):", text(REPO / "Makefile"), re.M))
    mentioned = set(re.findall(r"`make ([a-z][\w-]*)", text(README)))
    assert {"demo", "test", "test-fast"} <= mentioned, mentioned
    assert mentioned <= targets, f"`make` targets the README names that the Makefile lacks: {mentioned - targets}"


def gridsight_lines(markdown: str) -> list[str]:
    out = []
    for lang, body in FENCE.findall(markdown):
        if lang in ("bash", "sh", ""):
            body = body.replace("\\\n", " ")  # continued lines
            out += [line.split(" #")[0].strip() for line in body.splitlines() if line.strip().startswith("gridsight ")]
    return out


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_gridsight_command_parses(page: Path, capsys):
    from gridsight.cli import build_parser

    lines = gridsight_lines(text(page))
    if page == README:
        assert len(lines) >= 8, lines
    parser = build_parser()
    refused = []
    for line in lines:
        # a synopsis (`[--phase start|update|end] ...`): each optional part given, the first choice
        argv = [a.split("|")[0] for a in shlex.split(re.sub(r"\[([^\[\]]*)\]", r"\1", line))[1:] if a != "..."]
        try:
            parser.parse_args(argv)
        except SystemExit:
            refused.append(f"{line}: {capsys.readouterr().err.strip().splitlines()[-1]}")
    assert not refused, refused


def test_readme_config_example_is_accepted_by_the_worker_schema():
    from streams.config import parse_config

    blocks = [body for lang, body in FENCE.findall(text(README)) if lang == "yaml"]
    assert blocks, "the README shows one worker config"
    config = parse_config(yaml.safe_load(blocks[0]), README, base_dir=REPO)
    for model in config.models.values():
        assert model.manifest.is_file(), model.manifest


def documented_variables() -> set[str]:
    found: set[str] = set()
    for page in [README, *PAGES]:
        found |= set(re.findall(r"GRIDSIGHT_[A-Z0-9_]*[A-Z0-9]", text(page)))
    return found


def test_every_variable_the_docs_name_exists_in_the_code():
    from streams.config.load import hook_secret_var

    code = "\n".join(text(p) for folder in ("api", "streams", "gridsight", "inference", "tests/support")
                     for p in (REPO / folder).rglob("*.py"))
    code += text(REPO / "Makefile")
    from api.settings import Settings

    settings = {f"GRIDSIGHT_{name.upper()}" for name in Settings.model_fields}
    hook_secrets = {v for v in documented_variables() if re.fullmatch(r"GRIDSIGHT_HOOK_\w+_SECRET", v)}
    assert hook_secret_var("lift-gw") == "GRIDSIGHT_HOOK_LIFT_GW_SECRET"  # the names actions.md shows
    unknown = sorted(v for v in documented_variables() - hook_secrets if v not in settings and v not in code)
    assert not unknown, f"variables in README/docs that no code reads: {unknown}"


def test_every_api_setting_is_in_the_settings_table():
    from api.settings import Settings

    page = text(DOCS / "api.md")
    missing = [name for name in Settings.model_fields
               if f"GRIDSIGHT_{name.upper()}" not in page and not name.startswith(("redis_", "ingest_"))]  # the ingest's table is cluster.md's
    assert not missing, f"docs/api.md#settings lacks GRIDSIGHT_* for: {missing}"
    cluster = text(DOCS / "cluster.md")
    missing = [name for name in Settings.model_fields if name.startswith(("redis_", "ingest_"))
               and f"GRIDSIGHT_{name.upper()}" not in cluster]
    assert not missing, f"docs/cluster.md's ingest table lacks: {missing}"


def test_every_config_section_and_override_is_documented():
    from streams.config import GridSightConfig
    from streams.config.load import ENV_OVERRIDES

    page = text(DOCS / "configuration.md")
    sections = [name for name in GridSightConfig.model_fields if f"| `{name}" not in page]
    assert not sections, f"docs/configuration.md#sections lacks: {sections}"
    overrides = [var for var in ENV_OVERRIDES if var not in page]
    assert not overrides, f"docs/configuration.md#environment-overrides lacks: {overrides}"


def test_every_metric_the_docs_name_exists_in_the_code():
    code = "\n".join(text(p) for folder in ("api", "streams") for p in (REPO / folder).rglob("*.py"))
    named = {m for page in [README, *PAGES] for m in re.findall(r"gridsight_(?:worker|api)_[a-z_]*[a-z]", text(page))}
    # prometheus_client adds _total to a counter's name: the code names it without
    unknown = sorted(m for m in named if m not in code and m.removesuffix("_total") not in code)
    assert named and not unknown, f"metrics in README/docs that no code exports: {unknown}"
