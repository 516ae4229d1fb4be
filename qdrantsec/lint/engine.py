"""The lint engine: files in, findings out.

``lint_paths`` discovers files, reads each once, tells its kind by content, builds the
targets (a Qdrant config set, a compose service, a Kubernetes workload, a Helm release, an
env file) with the effective config as Qdrant builds it, runs the rules on them and applies
the project's suppressions. A file that cannot be used becomes a finding (QS001 for invalid,
binary, non-UTF-8 or oversized files; QS002 for duplicate keys) or, for a path named on the
command line that cannot be read at all, a ``FileError``; the other files are still linted.
Core code: it never prints or exits (a forked helper process ends with ``os._exit``).

It goes a directory at a time (``_lint_units``): one directory's files are classified,
built, linted and suppressed, then let go, and the findings wait in a ``FindingStore``
numbered in the order the whole run would have made them, so memory does not grow with the
number of files and the report is the one ``_lint_whole`` (every file kept to the end)
gives. A directory that needs a file of one already done makes the run start again whole.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from qdrantsec.errors import UsageError
from qdrantsec.lint.compact import HashSet, StringList, TargetList
from qdrantsec.lint.discover import (
    KINDS,
    TEMPLATE_SUFFIXES,
    Candidate,
    detect_kind,
    discover,
    likely_kind,
    name_kind_hint,
)
from qdrantsec.lint.inputs.compose import base_of_override, compose_targets, included_files
from qdrantsec.lint.inputs.context import BuildContext, invalid_file
from qdrantsec.lint.inputs.envfile import looks_like_env
from qdrantsec.lint.inputs.helm import helm_target
from qdrantsec.lint.inputs.k8s import k8s_targets
from qdrantsec.lint.inputs.kustomize import is_kustomization_name, kustomize_sets
from qdrantsec.lint.inputs.qdrant_config import env_target, standalone_targets
from qdrantsec.lint.inputs.source import Problem, SourceFile, Sources, template_problem
from qdrantsec.lint.model import FileError, Finding, LintOptions, LintResult, Rule, Target


def default_rules() -> list[Rule]:
    from qdrantsec.lint.registry import all_rules

    return all_rules()


def _looks_templated(src: SourceFile) -> bool:
    """A Helm/Jinja template (``{{ ... }}``) is not YAML until rendered."""
    return src.text is not None and "{{" in src.text


#: actions only a Helm chart template (or Jinja) has: a file with them is a template even
#: when it happens to parse as YAML (every placeholder quoted), and linting it would read
#: `"{{ .Values.apiKey }}"` as a literal key. A compose healthcheck's
#: `--format '{{.State.Health.Status}}'` is none of these.
_HELM_ACTION = re.compile(
    r"\{\{-?\s*(?:\.(?:Values|Release|Chart|Capabilities|Files|Template)\b|include\s|template\s|"
    r"toYaml\b|tpl\s|if\s|else\b|end\s*-?\}\}|range\s|with\s|define\s|\$)|\{%-?\s*(?:if|for|set|raw)\b")


#: why a named env file is skipped: it sets nothing in Qdrant (it is for compose interpolation)
ENV_WITHOUT_OVERRIDES = "an env file without QDRANT__ variables (Qdrant reads nothing from it)"


def _helm_template(src: SourceFile) -> bool:
    return src.text is not None and "{" in src.text and _HELM_ACTION.search(src.text) is not None


class _Run:
    def __init__(self, kind: str | None, env_files: Sequence[str], options: LintOptions,
                 ignored: Callable[[str], bool] | None, ignore_unknown: bool = False) -> None:
        self.kind = kind
        self.ignore_unknown = ignore_unknown
        self.options = options
        self.ignored = ignored
        self.sources = Sources()
        self.ctx = BuildContext(self.sources)
        self.result = LintResult()
        self.env_files: list[SourceFile] = []
        for path in env_files:
            src = self.sources.get(path, named=True, env=True)
            self.ctx.use(path)
            if src.problem is not None:
                self.result.errors.append(FileError(path, f"--env-file: {src.problem.message}"))
            elif not any(v.name.upper().startswith("QDRANT__") or v.name == "RUN_MODE" for v in src.env()):
                # applied, it would change nothing: the run would lint as if it were not given
                self.result.errors.append(FileError(path, (
                    "--env-file: no QDRANT__ variable (nor RUN_MODE) in it, so it changes nothing; Qdrant "
                    "reads QDRANT__SECTION__KEY=value, e.g. QDRANT__SERVICE__API_KEY")))
            else:
                self.env_files.append(src)
                self.result.files.append(src.path)
        self.by_kind: dict[str, list[SourceFile]] = {k: [] for k in KINDS}
        self.kustomizations: list[SourceFile] = []
        self.included: set[str] = set()
        self.used_elsewhere: list[str] = []

    def skip(self, path: str, why: str) -> None:
        self.result.notes.append(f"skipped {path}: {why}")

    def classify(self, cand: Candidate) -> None:
        src = self.sources.get(cand.path, named=cand.explicit,
                               env=name_kind_hint(os.path.basename(cand.path)) == "env")
        problem = src.problem
        if problem is not None:
            if problem.unreadable:
                # a file named like a deployment file (config.yaml, docker-compose.yml,
                # .env, values.yaml) that cannot be read must not pass unnoticed
                if cand.explicit or cand.by_name:
                    self.result.errors.append(FileError(cand.path, problem.message))
                else:
                    self.skip(cand.path, problem.message)
                return
            self.result.files.append(src.path)
            if cand.explicit or cand.by_name:
                self.ctx.reported.add(os.path.normpath(src.path))
                self.ctx.findings.append(invalid_file(src.path, problem))
            else:
                self.skip(cand.path, problem.message)
            return
        if src.empty:
            self.result.files.append(src.path)
            if self.kind in ("qdrant-config", "env"):
                self.by_kind[self.kind].append(src)  # an empty config is Qdrant's defaults
            else:
                self.skip(cand.path, "empty file")
            return
        hint = name_kind_hint(os.path.basename(cand.path))
        if cand.path.lower().endswith(TEMPLATE_SUFFIXES):
            # a helmfile Go template (`values.yaml.gotmpl`) is a template whatever it holds
            self.skip(cand.path, "a template (Helm/Jinja actions); lint the rendered output")
            if cand.explicit:
                problem = template_problem(src.text or "")
                self.result.skipped.append((cand.path, problem.message if problem is not None else (
                    "a Go template (.gotmpl), not YAML until rendered; lint the rendered output instead "
                    "(e.g. `helmfile template > rendered.yaml`)")))
            return
        if is_kustomization_name(cand.path) and self.kind in (None, "k8s") and src.yaml_problem is None \
                and not _helm_template(src):
            self.result.files.append(src.path)
            self.kustomizations.append(src)
            return
        # (values files may hold `{{ .Release.Name }}` strings for the chart's `tpl`: only
        # manifests are templates)
        if hint != "env" and src.yaml_problem is None and _helm_template(src) and (
                (self.kind or detect_kind(src, hint=hint)) == "k8s"):
            # valid YAML, but a chart template: its values are placeholders, not settings
            problem = template_problem(src.text or "")
            if self.kind is not None and problem is not None:
                self.result.files.append(src.path)
                self.ctx.reported.add(os.path.normpath(src.path))
                self.ctx.findings.append(invalid_file(src.path, problem))
                return
            self.skip(cand.path, "a template (Helm/Jinja actions); lint the rendered output")
            if cand.explicit and problem is not None:
                self.result.skipped.append((cand.path, problem.message))
            return
        kind = self.kind or detect_kind(src, hint=hint)
        if kind is None:
            problem = src.yaml_problem if hint != "env" else None
            # a template (Helm chart, Jinja) is skipped even when named explicitly: pre-commit
            # passes every changed YAML file by name
            if problem is not None and not _looks_templated(src) and (cand.explicit or hint == "yaml"):
                self.result.files.append(src.path)
                self.ctx.reported.add(os.path.normpath(src.path))
                self.ctx.findings.append(invalid_file(src.path, problem))
            else:
                why = "not a Qdrant config, compose, Kubernetes, Helm values or env file"
                if problem is not None:
                    why += " (a template)" if _looks_templated(src) else " (invalid YAML)"
                elif src.text is not None and looks_like_env(src.text):
                    why = ENV_WITHOUT_OVERRIDES
                self.skip(cand.path, why)
                if cand.explicit:
                    self._named_but_unknown(cand.path, src, problem, why)
            return
        self.result.files.append(src.path)
        self.by_kind[kind].append(src)

    def _named_but_unknown(self, path: str, src: SourceFile, problem: Problem | None, why: str) -> None:
        """A file named on the command line that is none of the kinds: never a silent skip.
        A template or an env file without ``QDRANT__`` variables (compose interpolation) is
        listed as skipped; anything else is an input error, unless ``ignore_unknown``."""
        if problem is not None and problem.template:
            self.result.skipped.append((path, problem.message))
        elif why == ENV_WITHOUT_OVERRIDES:
            self.result.skipped.append((path, why))
        elif not self.ignore_unknown:
            guess = likely_kind(src)
            self.result.errors.append(FileError(path, (
                "not recognised as a Qdrant config, compose file, Kubernetes manifest, Helm values or env "
                f"file; to lint it as one, give --kind {guess or 'KIND'}"
                + ("" if guess else f" ({', '.join(KINDS)})") + " (or --ignore-unknown to skip such files)")))

    def build(self, *, finish: bool = True) -> list[Target]:
        """The targets of the files classified so far (``finish``: and the notes, once the
        whole run is built; a run built a directory at a time finishes at the end)."""
        ctx, opts = self.ctx, self.options
        targets: list[Target] = []
        compose_paths = {os.path.normpath(s.path) for s in self.by_kind["compose"]}
        # a file another compose file includes is part of that project, not one of its own
        # (run-wide: a compose file linted earlier may include one of these)
        self.included.update(p for s in self.by_kind["compose"] for p in included_files(s))
        included = self.included
        for src in self.by_kind["compose"]:
            if os.path.normpath(src.path) in included:
                ctx.use(src.path)
                continue
            base = base_of_override(src.path)
            if base is not None:
                # docker compose merges an override into its base: lint the pair from the base
                # (once), not the override alone
                ctx.use(src.path)
                if os.path.normpath(base) in compose_paths or ctx.is_used(base):
                    continue
                ctx.use(base)
                src = self.sources.get(base)
                self.result.files.append(src.path)
            if ctx.report_file(src, "compose"):
                targets.extend(compose_targets(ctx, src, opts))
        # a manifest set is the manifests of one directory (an app, an overlay): a Service or
        # NetworkPolicy in staging/ says nothing about the workload in prod/
        # a kustomization's resources (with its bases) are one set, with its generated
        # ConfigMaps/Secrets; the files it uses are not linted again by directory
        for kset in kustomize_sets(ctx, [s.path for s in self.kustomizations]):
            built = k8s_targets(ctx, kset.files, opts, kset.generated, label=f" (kustomization {kset.root})")
            targets.extend(built)
            known = {os.path.normpath(p) for p in self.result.files}
            for path in [*(s.path for s in kset.files), *(f for t in built for f in t.config_files)]:
                if os.path.normpath(path) not in known:
                    known.add(os.path.normpath(path))
                    self.result.files.append(path)
        manifest_sets: dict[str, list[SourceFile]] = {}
        for src in self.by_kind["k8s"]:
            if ctx.is_used(src.path):
                continue
            if ctx.report_file(src, "k8s"):
                manifest_sets.setdefault(os.path.dirname(os.path.normpath(src.path)), []).append(src)
        for files in manifest_sets.values():
            targets.extend(k8s_targets(ctx, files, opts))
        for src in self.by_kind["helm-values"]:
            if ctx.report_file(src, "helm-values"):
                target = helm_target(ctx, src, opts)
                if target is not None:
                    targets.append(target)
        configs = [s.path for s in self.by_kind["qdrant-config"] if not ctx.is_used(s.path)]
        targets.extend(standalone_targets(ctx, configs, self.env_files, opts))
        for src in self.by_kind["env"]:
            if ctx.is_used(src.path):
                continue
            if ctx.report_file(src, "env"):
                targets.append(env_target(ctx, src, opts))
        self.used_elsewhere.extend(s.path for s in self.by_kind["qdrant-config"] + self.by_kind["env"]
                                   if ctx.is_used(s.path))
        if finish:
            self.finish()
        return targets

    def finish(self) -> None:
        """The notes and the skipped list once every file has been built."""
        ctx = self.ctx
        # a `.env` read for compose interpolation (or an override merged into its base) was
        # "skipped" as a file of its own: say what it was used for instead
        notes = self.result.notes
        self.result.notes = type(notes)(  # (a list, or a streaming run's StringList)
            f"{n[8:].split(': ', 1)[0]} was read as part of a compose file beside it"
            if n.startswith("skipped ") and ctx.is_used(n[8:].split(": ", 1)[0]) else n
            for n in notes)
        self.result.skipped = [(p, why) for p, why in self.result.skipped if not ctx.is_used(p)]
        for path in self.used_elsewhere:
            self.result.notes.append(f"{path} is linted as part of the service that uses it")


def run_rules(rules: Iterable[Rule], targets: Iterable[Target], errors: list[FileError]) -> list[Finding]:
    """Every rule on every target it applies to. A rule that raises is a bug: it is
    reported as an error for that target, and the other rules still run."""
    out: list[Finding] = []
    for target in targets:
        for rule in rules:
            if not rule.applies_to(target):
                continue
            try:
                found = list(rule.check(target))
            except Exception as exc:  # one broken rule must not stop the run
                errors.append(FileError(target.file, f"internal error in rule {rule.id} on "
                                        f"{target.label} ({type(exc).__name__}); please report it"))
                continue
            for f in found:
                if not f.target:
                    f.target = target.label
            out.extend(found)
    return out


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per rule, place and message (a config file layered into several targets
    yields the same finding from each)."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for f in findings:
        loc = f.location
        key = (f.rule, loc.file, loc.line, loc.column, loc.env_var, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def lint_paths(
    paths: Sequence[str],
    *,
    kind: str | None = None,
    env_files: Sequence[str] = (),
    rules: Sequence[Rule] | None = None,
    project: Any = None,
    cert_expiry_days: int = 30,
    peer_uris: Sequence[str] = (),
    now: datetime | None = None,
    baseline: set[str] | None = None,
    ignore_unknown: bool = False,
    stream: bool = False,
    jobs: int = 1,
) -> LintResult:
    """Lint files and directories (default ``.``). ``project`` is a
    ``qdrantsec.lint.suppress.ProjectConfig`` (None: no project file); ``baseline`` a set of
    fingerprints from ``suppress.load_baseline``.

    The run goes a directory at a time and lets go of each directory's files once their
    findings are made. With ``stream`` (the CLI) it also keeps no targets (``targets``
    holds a ``TargetSummary`` for each) and ``findings`` is a ``FindingStore`` that spills
    to disk, so memory stays flat however many files there are; without it the result holds
    the targets and a list of findings, for callers that look into them. ``jobs`` 2 (with
    ``stream``) lints the second half of a large run in a second process at the same time;
    the result is the same."""
    if kind is not None and kind not in KINDS:
        raise UsageError(f"unknown kind {kind!r} (use one of: {', '.join(KINDS)})")
    if any(not str(p).strip() for p in paths):  # `lint "$UNSET"` must not lint nothing and pass
        raise UsageError("an empty PATH was given", hint="name a file or directory, or give none for '.'")
    # The cyclic garbage collector would rescan the parsed files (many small objects, no
    # cycles) again and again: pausing it for the run saves about a quarter of the time.
    # What a directory no longer needs is freed by reference counting; the collector is
    # back on (and catches up) afterwards.
    was_enabled = gc.isenabled()
    gc.disable()
    args = (paths, kind, env_files, rules, project, cert_expiry_days, peer_uris, now, baseline,
            ignore_unknown)
    from qdrantsec.lint.inputs import source

    previous = source.ACTIVE
    try:
        if _by_directory(paths):
            try:
                return _lint_units(*args, stream=stream, jobs=jobs)
            except _Conflict:
                pass  # a deployment reaches into a directory already linted: lint the run whole
        return _lint_whole(*args)
    finally:
        source.ACTIVE = previous
        if was_enabled:
            gc.enable()


def _activate(sources: Sources) -> None:
    """Rules may take file text from this run's cache (``source.lines_if_read``)."""
    from qdrantsec.lint.inputs import source

    source.ACTIVE = sources


class _Conflict(Exception):
    """A file of a directory already linted turned out to belong to a deployment of a later
    one (an overlay's ``../base``, a compose ``include`` or mount of ``../shared``): the
    directory-at-a-time run would have linted it alone, so the run is linted whole."""


#: the order in which a whole run builds its targets (compose, kustomize and Kubernetes
#: sets, Helm, standalone configs, env files): findings are numbered in that order
_KIND_RANK = {"compose": 0, "k8s": 1, "helm-values": 2, "qdrant-config": 3, "env": 4}


def _by_directory(paths: Sequence[str]) -> bool:
    """A named pipe (``<(helm template ...)``) can be read once only, and a directory-at-a-
    time run may have to start again: such runs are linted whole."""
    import stat

    for p in paths or ["."]:
        try:
            if not stat.S_ISREG(os.stat(p).st_mode) and not os.path.isdir(p):
                return False
        except OSError:
            pass  # missing: reported as such either way
    return True


def _lint_units(
    paths: Sequence[str], kind: str | None, env_files: Sequence[str], rules: Sequence[Rule] | None,
    project: Any, cert_expiry_days: int, peer_uris: Sequence[str], now: datetime | None,
    baseline: set[str] | None, ignore_unknown: bool = False, *, stream: bool, jobs: int = 1,
) -> LintResult:
    """The run a directory at a time: classify the files of one directory, build its
    deployments, run the rules, apply the suppressions, keep the findings compactly and let
    go of the parsed files. Raises ``_Conflict`` when a later directory uses a file of an
    earlier one (see ``_Conflict``). The findings, notes and files are those of the whole
    run (``_lint_whole``): findings carry a sequence number in the whole run's order, and
    the store sorts and de-duplicates them as it does.

    With ``jobs`` > 1 (and ``stream``) a large run is cut in two at a directory boundary and
    the second half is linted by a forked child process at the same time (see ``_Fork``)."""
    from qdrantsec.lint import suppress
    from qdrantsec.lint.store import FindingStore

    options = LintOptions(cert_expiry_days=cert_expiry_days, peer_uris=tuple(peer_uris), now=now)
    ignored = project.path_ignored if project is not None else None
    run = _Run(kind, env_files, options, ignored, ignore_unknown)
    _activate(run.sources)
    ctx, result = run.ctx, run.result
    active = list(default_rules() if rules is None else rules)
    if project is not None:
        active = [r for r in active if project.rule_enabled(r.id)]
    sup = suppress.Suppressor(project if project is not None else suppress.ProjectConfig(), baseline,
                              run.sources.lines)
    store = FindingStore(spill=stream)
    env_keys = {os.path.normpath(p) for p in env_files}
    if stream:  # kept to the end, one entry per file: compactly
        result.files = StringList(result.files)  # type: ignore[assignment]
        result.notes = StringList(result.notes)  # type: ignore[assignment]
    # two paths may name the same file (a file and its directory); one path cannot
    overlap = len(paths) > 1

    def found() -> Iterator[tuple[Any, ...]]:
        """What discovery finds, in order: candidates (each once, with its normalised path)
        and its skip/error notes. A fresh walk each time it is called."""
        pending: list[tuple[Any, ...]] = []
        seen: set[str] = set()
        for cand in discover(list(paths) or ["."], ignored=ignored,
                             on_skip=lambda p, why: pending.append(("skip", p, why)),
                             on_error=lambda p, msg: pending.append(("error", p, msg))):
            if pending:
                yield from pending
                pending.clear()
            key = os.path.normpath(cand.path)
            if key in env_keys or (overlap and key in seen):
                continue  # given twice (a file and its directory), or an --env-file found by the walk
            if overlap:
                seen.add(key)
            yield ("cand", cand, key)
        yield from pending

    used_now: list[str] = []
    use = ctx.use

    def tracked_use(path: str) -> None:
        used_now.append(path)
        use(path)

    ctx.use = tracked_use  # type: ignore[method-assign]
    # the files of the directories already done, by hash: a later directory that uses or
    # reports one of them makes the run whole (a false yes only costs that)
    earlier = HashSet()
    unit_files: list[str] = []
    targets_kept: Any = TargetList() if stream else []
    state = {"unit": 0, "files_mark": len(result.files)}
    # files outside their own directory's candidates whose reasonless suppressions are made
    reasonless_done: set[str] = set()
    by_kind: dict[str, list[Rule]] = {}

    def finish_unit() -> None:
        unit = state["unit"]
        built_from = len(ctx.findings)
        targets = run.build(finish=False)
        if any(os.path.normpath(p) in earlier for p in used_now) or any(k in earlier for k in ctx.reported):
            raise _Conflict
        used_now.clear()
        numbered: list[tuple[Finding, tuple[int, ...]]] = [
            (f, (0, 0 if i < built_from else 1, unit, i)) for i, f in enumerate(ctx.findings)]
        for ti, target in enumerate(targets):
            rank = _KIND_RANK.get(target.kind, len(_KIND_RANK))
            applicable = by_kind.get(target.kind)
            if applicable is None:  # the rules for this kind of target (run_rules asks each again)
                applicable = by_kind[target.kind] = [
                    r for r in active if type(r).applies_to is not Rule.applies_to or r.applies_to(target)]
            for j, f in enumerate(run_rules(applicable, [target], result.errors)):
                numbered.append((f, (1, rank, unit, ti, j)))
        files = dict.fromkeys([*(f.location.file for f, _ in numbered if f.location.file),
                               *result.files[state["files_mark"]:]])
        for f, seq in numbered:
            g = sup.one(f, own=True)  # fresh findings: no copy
            if g is not None:
                store.add(g, seq)
        n = 0
        mine = set(unit_files)
        for file in files:
            if file in reasonless_done:
                continue
            key = os.path.normpath(file)
            if key in mine:
                pass  # a file of this directory: a later directory cannot come back to it
            elif key in earlier:
                raise _Conflict  # one of an earlier directory's, done there already
            else:
                reasonless_done.add(file)
            for q in sup.reasonless(file):
                g = sup.one(q, own=True)
                if g is not None:
                    store.add(g, (2, unit, n))
                    n += 1
        if stream:
            for t in targets:
                targets_kept.append(t.kind, t.file)
        else:
            targets_kept.extend(targets)
        # let go of this directory: its parsed files, findings and comments
        ctx.findings.clear()
        run.by_kind = {k: [] for k in KINDS}
        run.kustomizations = []
        run.sources.release(keep=env_keys)
        sup.forget()
        ctx.reported.difference_update(mine)  # (a report of one again is a conflict, above)
        earlier.update(mine)
        unit_files.clear()
        state["files_mark"] = len(result.files)
        state["unit"] = unit + 1

    dirs: set[str] = set()  # the directories begun
    last: list[str | None] = [None]

    def process(events: Iterable[tuple[Any, ...]], stop: str | None = None) -> tuple[Any, ...] | None:
        """The events a directory at a time, up to the first candidate in directory ``stop``
        (returned, not done). A directory that comes back (`lint a/x.yaml b a/y.yaml`)
        cannot be linted a directory at a time."""
        for ev in events:
            if ev[0] == "skip":
                run.skip(ev[1], ev[2])
            elif ev[0] == "error":
                result.errors.append(FileError(ev[1], ev[2]))
            else:
                here = os.path.dirname(ev[2])
                if here != last[0]:
                    if here == stop:
                        return ev
                    if here in dirs:
                        raise _Conflict
                    if last[0] is not None:
                        finish_unit()
                    dirs.add(here)
                    last[0] = here
                run.classify(ev[1])
                unit_files.append(ev[2])
        return None

    def close() -> None:
        """The last directory (or, when nothing was found, the empty build)."""
        finish_unit()
        last[0] = None

    plan = _Fork.plan(found()) if jobs > 1 and stream else None
    if plan is None:
        process(found())
        close()
    else:
        fork = _Fork(plan)
        try:
            if fork.start():  # the child: the second half, then its results to the parent
                def second_half() -> None:
                    earlier.add_hashes(plan.first)
                    state.update(unit=plan.units)
                    rest = _skip_to(found(), plan.cut)
                    if rest is None:  # the tree changed since the plan: the parent goes on
                        raise LookupError(plan.cut)
                    process(rest)
                    close()
                fork.child(second_half, run, store, targets_kept)
            events = found()
            held = process(events, stop=plan.cut)
            if last[0] is not None:
                close()
            # the first half decided something about a file of the second (a compose
            # service uses it, an include names it): the child could not know, so go on here
            later = HashSet()
            later.add_hashes(plan.second)
            decided = {os.path.normpath(p) for p in ctx.used} | run.included
            merged = held is not None and not any(k in later for k in decided) and fork.merge(
                run, store, targets_kept)
        finally:
            fork.stop()
        if not merged:
            if fork.conflict:
                raise _Conflict
            if held is not None:
                process(itertools.chain([held], events))
                close()
    run.finish()
    result.targets = targets_kept
    result.notes.extend(ctx.notes)
    for i, q in enumerate(sup.expired()):
        g = sup.one(q)
        if g is not None:
            store.add(g, (3, i))
    result.findings = store if stream else list(store)  # type: ignore[assignment]
    return result


def _skip_to(events: Iterator[tuple[Any, ...]], cut: str) -> Iterator[tuple[Any, ...]] | None:
    """``events`` from the first candidate in directory ``cut`` on (None: there is none)."""
    for ev in events:
        if ev[0] == "cand" and os.path.dirname(ev[2]) == cut:
            return itertools.chain([ev], events)
    return None


class _Plan(NamedTuple):
    """Where a run is cut in two (``_Fork.plan``): the directory the second half starts
    with, the number of directories before it, and the hashes of the candidates' paths of
    each half (see ``HashSet``)."""

    cut: str
    units: int
    first: Any
    second: Any




class _Fork:
    """The second half of a large run in a forked child. The child starts with the parent's
    state before the first half (nothing linted yet), is told which files the first half
    holds (a use of one of them is a ``_Conflict``, as in one process) and where its unit
    numbers start, lints its half, and leaves its findings (sorted runs) and the rest of
    its results in two temporary files the parent opened, then exits. The parent lints the
    first half meanwhile and adopts the child's results when nothing in the first half
    concerns a file of the second; otherwise (or when the child failed) it lints the second
    half itself, so the outcome is always that of one process."""

    #: runs smaller than this are not worth a second process
    MIN_FILES = 400

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.pid = 0
        self.conflict = False
        self.findings_file: Any = None
        self.result_file: Any = None

    @staticmethod
    def plan(events: Iterable[tuple[Any, ...]]) -> _Plan | None:
        """Where to cut the run: at the directory boundary nearest half the bytes (the
        work is about proportional to them), or None (a small run, a busy machine). Walks
        the events once, keeping a few numbers a directory and a hash a file."""
        if not hasattr(os, "fork") or (os.cpu_count() or 1) < 2 or not _Fork.core_free():
            return None
        hashes = array("q")
        starts: list[tuple[str, int, int]] = []  # (directory, files before, bytes before)
        dirs: set[str] = set()
        total = 0
        for ev in events:
            if ev[0] != "cand":
                continue
            here = os.path.dirname(ev[2])
            if not starts or here != starts[-1][0]:
                if here in dirs:
                    raise _Conflict  # a directory that comes back: the run is linted whole
                dirs.add(here)
                starts.append((here, len(hashes), total))
            hashes.append(hash(ev[2]))
            with contextlib.suppress(OSError):
                total += os.stat(ev[2]).st_size
        if len(hashes) < _Fork.MIN_FILES or len(starts) < 4:
            return None
        i = min(range(1, len(starts)), key=lambda u: abs(2 * starts[u][2] - total))
        cut, files, _ = starts[i]
        return _Plan(cut, i, hashes[:files], hashes[files:])

    @staticmethod
    def core_free() -> bool:
        """Whether a core is idle for the child now (as ``make -l`` asks the load): on a
        machine whose other cores are busy, a second process only adds its own overhead.
        Linux's count of runnable tasks includes this process; elsewhere, assume yes."""
        try:
            with open("/proc/loadavg", encoding="ascii") as fh:
                running = int(fh.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return True
        return running < (os.cpu_count() or 1)

    def start(self) -> bool:
        """Fork; True in the child."""
        import tempfile

        self.findings_file = tempfile.TemporaryFile(prefix="qdrantsec-findings-")  # noqa: SIM115
        self.result_file = tempfile.TemporaryFile(prefix="qdrantsec-result-")  # noqa: SIM115
        self.pid = os.fork()
        return self.pid == 0

    def child(self, work: Callable[[], Any], run: _Run, store: Any, targets: list[Any]) -> None:
        import pickle

        code = 1
        try:
            ctx, result = run.ctx, run.result
            marks = (len(result.files), len(result.notes), len(result.skipped), len(result.errors),
                     len(ctx.notes), len(run.used_elsewhere))
            store.use_file(self.findings_file)
            try:
                work()
                payload: dict[str, Any] = {
                    # (a StringList pickles as its few compressed pieces)
                    "files": type(result.files)(result.files[marks[0]:]),
                    "notes": type(result.notes)(result.notes[marks[1]:]),
                    "skipped": result.skipped[marks[2]:], "errors": result.errors[marks[3]:],
                    "ctx_notes": ctx.notes[marks[4]:], "used_elsewhere": run.used_elsewhere[marks[5]:],
                    "used": ctx.used, "included": run.included, "reported": ctx.reported,
                    "targets": targets, "runs": store.spill_to(self.findings_file),
                }
            except _Conflict:
                payload = {"conflict": True}
            pickle.dump(payload, self.result_file, protocol=pickle.HIGHEST_PROTOCOL)
            self.result_file.flush()
            code = 0
        finally:
            os._exit(code)

    def merge(self, run: _Run, store: Any, targets: list[Any]) -> bool:
        """Adopt the child's results; False when it failed or found a conflict."""
        import pickle

        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return False
        self.result_file.seek(0)
        try:
            payload = pickle.load(self.result_file)
        except (EOFError, pickle.UnpicklingError):
            return False
        if payload.get("conflict"):
            self.conflict = True
            return False
        ctx, result = run.ctx, run.result
        result.files.extend(payload["files"])
        result.notes.extend(payload["notes"])
        result.skipped.extend(payload["skipped"])
        result.errors.extend(payload["errors"])
        ctx.notes.extend(payload["ctx_notes"])
        run.used_elsewhere.extend(payload["used_elsewhere"])
        ctx.used |= payload["used"]
        run.included |= payload["included"]
        ctx.reported |= payload["reported"]
        targets.extend(payload["targets"])
        store.adopt(self.findings_file, payload["runs"])
        self.findings_file = None  # the store's now
        return True

    def stop(self) -> None:
        """Make sure no child is left running (the first half failed, or was not merged)."""
        import signal

        if self.pid:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(self.pid, 0)
            self.pid = 0
        for fh in (self.findings_file, self.result_file):
            if fh is not None:
                fh.close()
        self.findings_file = self.result_file = None


def _lint_whole(
    paths: Sequence[str], kind: str | None, env_files: Sequence[str], rules: Sequence[Rule] | None,
    project: Any, cert_expiry_days: int, peer_uris: Sequence[str], now: datetime | None,
    baseline: set[str] | None, ignore_unknown: bool = False,
) -> LintResult:
    """The run as a whole: every file classified, then every deployment built, then the
    rules; everything is kept until the end."""
    options = LintOptions(cert_expiry_days=cert_expiry_days, peer_uris=tuple(peer_uris), now=now)
    ignored = project.path_ignored if project is not None else None
    run = _Run(kind, env_files, options, ignored, ignore_unknown)
    _activate(run.sources)
    seen: set[str] = set()

    def unlistable(path: str, message: str) -> None:
        run.result.errors.append(FileError(path, message))

    for cand in discover(list(paths) or ["."], ignored=ignored, on_skip=run.skip,
                         on_error=unlistable):
        key = os.path.normpath(cand.path)
        if key in seen or (run.ctx.is_used(cand.path) and run.sources.known(cand.path) is not None):
            continue  # given twice (a file and its directory), or an --env-file found by the walk
        seen.add(key)
        run.classify(cand)
    targets = run.build()
    result = run.result
    result.targets = targets
    result.notes.extend(run.ctx.notes)
    active = list(default_rules() if rules is None else rules)
    if project is not None:
        active = [r for r in active if project.rule_enabled(r.id)]
    findings = run.ctx.findings + run_rules(active, targets, result.errors)
    findings = dedupe(findings)
    try:
        from qdrantsec.lint import suppress
    except ImportError:  # pragma: no cover - the suppressions module ships with the package
        suppress = None  # type: ignore[assignment]
    if suppress is not None:
        findings = suppress.apply(findings, project if project is not None else suppress.ProjectConfig(),
                                  baseline, run.sources.lines, files=result.files)
    findings.sort(key=lambda f: (f.location.file or "", f.location.line or 0, f.location.column or 0,
                                 f.rule, f.message))
    result.findings = findings
    return result
