"""
The documentation keeps up with the code, without Airflow: every message the provider raises is on the
troubleshooting page, every example-DAG marker can be quoted by the site, and the performance page's table and chart
are drawn from the benchmark's JSON. (The site's own strict build, scripts/docs.sh, catches broken links,
references and snippets; scripts/test.sh runs it.)
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "airflow_provider_wooxy"
TROUBLESHOOTING = ROOT / "docs" / "troubleshooting.md"
# The sandbox is the tests' stand-in for Wooxy: its errors are the API's own texts, answered over HTTP, not raised
# to a user of the provider (the page lists the API's texts in a section of their own).
NOT_RAISED_TO_USERS = {"sandbox"}
# A fragment this short ("row ", ": ", ".") says nothing about the message on its own.
MIN_FRAGMENT = 4


@dataclass(frozen=True)
class Message:
    """One raised message: where it is, its exception type, and its constant text split at the placeholders."""

    where: str
    exception: str
    fragments: tuple[str, ...]

    @property
    def template(self) -> str:
        return "{…}".join(self.fragments)


def _fragments(node: ast.AST, assigned: dict[str, list[ast.expr]] | None = None) -> list[list[str]]:
    """
    The constant text of each message an exception's argument holds, as a list of pieces per message ("\\0" marks a
    placeholder). ``assigned`` maps the names assigned in the raising function to their values.
    """
    assigned = assigned or {}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [[node.value]]
    if isinstance(node, ast.JoinedStr):
        parts: list[str] = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            else:
                parts.append("\0")  # a placeholder
        return [["".join(parts)]]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # "..." + f"..." + self._where()
        left, right = _fragments(node.left, assigned), _fragments(node.right, assigned)
        joined = [*(p for parts in left for p in parts), "\0", *(p for parts in right for p in parts)]
        return [joined] if left or right else []
    if isinstance(node, (ast.List, ast.Tuple)):  # WooxyError(method, ["...", f"..."]): one message per item
        return [parts for item in node.elts for parts in _fragments(item, assigned)]
    if isinstance(node, ast.Starred):
        return _fragments(node.value, assigned)
    if isinstance(node, (ast.GeneratorExp, ast.ListComp)):
        return _fragments(node.elt, assigned)
    if isinstance(node, ast.IfExp):
        return _fragments(node.body, assigned) + _fragments(node.orelse, assigned)
    if isinstance(node, ast.Call):  # self._redact(f"could not connect to {where}: {exc}")
        return [parts for argument in node.args for parts in _fragments(argument, assigned)]
    if isinstance(node, ast.Name) and node.id in assigned:  # errors = [f"..."]; raise WooxyError(method, errors)
        return [parts for value in assigned[node.id] for parts in _fragments(value, {})]
    return []  # a message made elsewhere (re-raised with str(exc)): checked where it is made


def raised_messages() -> list[Message]:
    """Every ``raise SomeError(<string or f-string>, ...)`` in the package, with its constant text."""
    messages = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if NOT_RAISED_TO_USERS & {part.removesuffix(".py") for part in relative.parts}:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        scopes = [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]
        for function in scopes:
            assigned: dict[str, list[ast.expr]] = {}
            for node in ast.walk(function):
                if isinstance(node, ast.Assign) and function is not tree:
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            assigned.setdefault(target.id, []).append(node.value)
            made = [n.exc for n in ast.walk(function) if isinstance(n, ast.Raise) and isinstance(n.exc, ast.Call)]
            # An answer's classification (hooks/transport.py) carries the error its caller raises, with its texts.
            made += [n for n in ast.walk(function) if isinstance(n, ast.Call) and ast.unparse(n.func) == "Outcome"]
            for call in made:
                messages.extend(_messages(call, relative, assigned))
    return sorted(set(messages), key=lambda m: m.where)


def _messages(call: ast.Call, relative: Path, assigned: dict[str, list[ast.expr]]) -> list[Message]:
    messages = []
    for argument in [*call.args, *(keyword.value for keyword in call.keywords)]:
        for parts in _fragments(argument, assigned):
            pieces = tuple(re.sub(r"\s+", " ", p) for p in "".join(parts).split("\0"))
            messages.append(Message(f"{relative}:{call.lineno}", ast.unparse(call.func), pieces))
    return messages


def _page_text() -> str:
    return " ".join(TROUBLESHOOTING.read_text(encoding="utf-8").split())


def missing_from_page(messages: list[Message], page: str) -> list[tuple[Message, list[str]]]:
    missing = []
    for message in messages:
        absent = [f.strip() for f in message.fragments if len(f.strip()) >= MIN_FRAGMENT and f.strip() not in page]
        if absent:
            missing.append((message, absent))
    return missing


class TestTroubleshootingPage:
    def test_the_scan_finds_the_messages(self):
        """The scan sees messages of every kind: plain strings, f-strings, lists of texts, concatenations."""
        templates = {m.template for m in raised_messages()}
        assert len(templates) > 50
        assert "state_path is required: where this sync keeps the entries it manages." in templates
        assert any(t.startswith("the plan removes {…} of {…} managed entries") for t in templates)
        assert any("could not be verified" in t for t in templates)  # an item of a list of texts
        assert "check the connection's base URL" in templates  # a text of an answer's Outcome

    def test_a_missing_message_is_reported(self):
        """The check itself: a page without the message names the message, its place and the missing text."""
        message = Message("airflow_provider_wooxy/x.py:1", "WooxyInputError", ("the input (", ") holds no records"))
        assert missing_from_page([message], "the input ( ... ) holds some records") == [
            (message, [") holds no records"])
        ]
        assert missing_from_page([message], "the input ( ... ) holds no records; fine") == []

    def test_every_raised_message_is_on_the_page(self):
        missing = missing_from_page(raised_messages(), _page_text())
        report = "\n".join(
            f"  {m.where}  {m.exception}: {m.template!r}\n      not on the page: {absent}" for m, absent in missing
        )
        stubs = "\n".join(sorted({f"- `{m.template}` WHAT IT MEANS. WHAT TO DO." for m, _ in missing}))
        assert not missing, (
            f"{len(missing)} raised message(s) are not in docs/troubleshooting.md. Add each one there (its text as "
            "raised; {…} marks what varies, name it: {path}, {row}) with what it means and what to do:\n"
            f"{report}\nStubs to paste under the right heading:\n{stubs}"
        )


class TestExampleDagMarkers:
    def test_every_airflow_marker_carries_the_snippet_marker(self):
        """`# [START x]` (Airflow's docs) and `--8<-- [start:x]` (pymdownx.snippets, this site) on one line."""
        problems = []
        for path in sorted((ROOT / "example_dags").glob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                found = re.search(r"# \[(START|END) ([a-z0-9_]+)\]", line)
                if found and f"--8<-- [{found[1].lower()}:{found[2]}]" not in line:
                    problems.append(f"{path.name}:{number}: {line.strip()}")
        assert not problems, "markers without their snippet twin:\n" + "\n".join(problems)

    def test_every_quoted_section_exists(self):
        """A page quoting a section that no example DAG has (the strict build fails on it too, later)."""
        quoted = set()
        for page in (ROOT / "docs").rglob("*.md"):
            quoted |= set(re.findall(r'--8<-- "(example_dags/[^":]+):([a-z0-9_]+)"', page.read_text(encoding="utf-8")))
        assert quoted
        for file, section in sorted(quoted):
            text = (ROOT / file).read_text(encoding="utf-8")
            assert f"--8<-- [start:{section}]" in text and f"--8<-- [end:{section}]" in text, f"{file}:{section}"


def test_performance_table_and_chart_match_the_benchmark_json():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "docs_chart.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
