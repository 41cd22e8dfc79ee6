"""Where things live: the top-level packages import in one direction, the sample generator stays apart,
the environment is read in one module, and the asset graph shows every stage."""

import ast
import re
from pathlib import Path

from conftest import REPO

PACKAGES = ("nsi", "indicators", "reports", "assets", "pipelines")


def imports_of(path: Path) -> set[str]:
    """Every module a file imports (absolute imports; the project has no relative ones)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def sources(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def test_no_import_cycle_between_top_level_packages():
    uses = {p: {m.split(".")[0] for f in sources(p) for m in imports_of(f)} & set(PACKAGES) - {p} for p in PACKAGES}
    cycles = [(a, b) for a in PACKAGES for b in uses[a] if a in uses[b]]
    assert cycles == [], f"packages that import each other: {cycles}"
    # The direction the layout promises: the core knows nothing of the methodology, the reports or Dagster.
    assert uses["nsi"] == set()
    assert uses["indicators"] <= {"nsi"}
    assert uses["reports"] <= {"nsi", "indicators"}
    assert "pipelines" not in uses["assets"]


def test_only_the_generator_its_command_and_the_tests_import_the_sample():
    offenders = []
    for package in PACKAGES:
        for path in sources(package):
            if path.is_relative_to(REPO / "nsi" / "sample"):
                continue
            names = [m for m in imports_of(path) if m == "nsi.sample" or m.startswith("nsi.sample.")]
            if names:
                offenders.append((path.relative_to(REPO).as_posix(), sorted(names)))
    # `nsi sample` is the one command that writes sample data.
    assert offenders == [("pipelines/cli.py", ["nsi.sample.generate", "nsi.sample.generate.resolve_dialects",
                                               "nsi.sample.generate.sample", "nsi.sample.generate.scenario_of"])]
    source = (REPO / "pipelines" / "cli.py").read_text(encoding="utf-8")
    sample_command = source[source.index("def sample("):source.index("\n@app.command()", source.index("def sample("))]
    assert source.count("nsi.sample") == sample_command.count("nsi.sample") == 1


READS_NSI_VARIABLE = re.compile(r"""(os\.environ\.get\(|os\.environ\[|os\.getenv\(|environ\.get\()\s*[f]?["']NSI_""")


def test_the_environment_is_read_in_the_settings_module_only():
    readers = [(path.relative_to(REPO).as_posix(), line.strip())
               for package in PACKAGES for path in sources(package) if path != REPO / "nsi" / "settings.py"
               for line in path.read_text(encoding="utf-8").splitlines() if READS_NSI_VARIABLE.search(line)]
    assert readers == []
    assert READS_NSI_VARIABLE.search('key = os.environ.get("NSI_PII_KEY", "")')  # the pattern finds a read


def test_the_asset_graph_shows_publication_between_the_briefings_and_delivery():
    from pipelines.definitions import defs
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"safety_index", "district_reports", "publication", "briefing_deliveries"} <= keys
    parents = {k.to_user_string(): {p.to_user_string() for p in graph.get(k).parent_keys} for k in graph.get_all_asset_keys()}
    assert parents["publication"] == {"safety_index", "district_reports"}
    assert parents["briefing_deliveries"] == {"publication"}
    assert parents["district_reports"] == {"safety_index"}
