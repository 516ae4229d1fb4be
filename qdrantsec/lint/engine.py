"""The lint engine: files in, findings out.

``lint_paths`` discovers files, reads each once, tells its kind by content, builds the
targets (a Qdrant config set, a compose service, a Kubernetes workload, a Helm release, an
env file) with the effective config as Qdrant builds it, runs the rules on them and applies
the project's suppressions. A file that cannot be used becomes a finding (QS001 for invalid,
binary, non-UTF-8 or oversized files; QS002 for duplicate keys) or, for a path named on the
command line that cannot be read at all, a ``FileError``; the other files are still linted.
Core code: it never prints or exits.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from qdrantsec.errors import UsageError
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
        self.result.notes = [
            f"{n[8:].split(': ', 1)[0]} was read as part of a compose file beside it"
            if n.startswith("skipped ") and ctx.is_used(n[8:].split(": ", 1)[0]) else n
            for n in self.result.notes]
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
) -> LintResult:
    """Lint files and directories (default ``.``). ``project`` is a
    ``qdrantsec.lint.suppress.ProjectConfig`` (None: no project file); ``baseline`` a set of
    fingerprints from ``suppress.load_baseline``.

    The run goes a directory at a time and lets go of each directory's files once their
    findings are made. With ``stream`` (the CLI) it also keeps no targets (``targets``
    holds a ``TargetSummary`` for each) and ``findings`` is a ``FindingStore`` that spills
    to disk, so memory stays flat however many files there are; without it the result holds
    the targets and a list of findings, for callers that look into them."""
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
    try:
        if _by_directory(paths):
            try:
                return _lint_units(*args, stream=stream)
            except _Conflict:
                pass  # a deployment reaches into a directory already linted: lint the run whole
        return _lint_whole(*args)
    finally:
        if was_enabled:
            gc.enable()


class TargetSummary(NamedTuple):
    """What is left of a target once its findings are made (``lint_paths(stream=True)``)."""

    kind: str
    file: str
    label: str


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
    baseline: set[str] | None, ignore_unknown: bool = False, *, stream: bool,
) -> LintResult:
    """The run a directory at a time: classify the files of one directory, build its
    deployments, run the rules, apply the suppressions, keep the findings compactly and let
    go of the parsed files. Raises ``_Conflict`` when a later directory uses a file of an
    earlier one (see ``_Conflict``). The findings, notes and files are those of the whole
    run (``_lint_whole``): findings carry a sequence number in the whole run's order, and
    the store sorts and de-duplicates them as it does."""
    from qdrantsec.lint import suppress
    from qdrantsec.lint.store import FindingStore

    options = LintOptions(cert_expiry_days=cert_expiry_days, peer_uris=tuple(peer_uris), now=now)
    ignored = project.path_ignored if project is not None else None
    run = _Run(kind, env_files, options, ignored, ignore_unknown)
    ctx, result = run.ctx, run.result
    active = list(default_rules() if rules is None else rules)
    if project is not None:
        active = [r for r in active if project.rule_enabled(r.id)]
    sup = suppress.Suppressor(project if project is not None else suppress.ProjectConfig(), baseline,
                              run.sources.lines)
    store = FindingStore(spill=stream)
    env_keys = {os.path.normpath(p) for p in env_files}
    used_now: list[str] = []
    use = ctx.use

    def tracked_use(path: str) -> None:
        used_now.append(path)
        use(path)

    ctx.use = tracked_use  # type: ignore[method-assign]
    earlier: set[str] = set()  # files of the directories already done
    done_dirs: set[str] = set()
    unit_files: list[str] = []
    unit_dir: str | None = None
    unit = 0
    extra = 0
    reasonless_done: set[str] = set()
    targets_kept: list[Any] = []
    seen: set[str] = set()
    files_mark = len(result.files)

    def finish_unit() -> None:
        nonlocal unit, extra, files_mark
        built_from = len(ctx.findings)
        targets = run.build(finish=False)
        if any(os.path.normpath(p) in earlier for p in used_now):
            store.close()
            raise _Conflict
        used_now.clear()
        numbered: list[tuple[Finding, tuple[int, ...]]] = [
            (f, (0, 0 if i < built_from else 1, unit, i)) for i, f in enumerate(ctx.findings)]
        for ti, target in enumerate(targets):
            rank = _KIND_RANK.get(target.kind, len(_KIND_RANK))
            for j, f in enumerate(run_rules(active, [target], result.errors)):
                numbered.append((f, (1, rank, unit, ti, j)))
        files = dict.fromkeys([*(f.location.file for f, _ in numbered if f.location.file),
                               *result.files[files_mark:]])
        for f, seq in numbered:
            g = sup.one(f, own=True)  # fresh findings: no copy
            if g is not None:
                store.add(g, seq)
        for file in files:
            if file in reasonless_done:
                continue
            reasonless_done.add(file)
            for q in sup.reasonless(file):
                g = sup.one(q, own=True)
                if g is not None:
                    store.add(g, (2, extra))
                    extra += 1
        if stream:
            targets_kept.extend(TargetSummary(t.kind, t.file, t.label) for t in targets)
        else:
            targets_kept.extend(targets)
        # let go of this directory: its parsed files, findings and comments
        ctx.findings.clear()
        run.by_kind = {k: [] for k in KINDS}
        run.kustomizations = []
        run.sources.release(keep=env_keys)
        sup.forget()
        earlier.update(unit_files)
        unit_files.clear()
        files_mark = len(result.files)
        unit += 1

    def unlistable(path: str, message: str) -> None:
        result.errors.append(FileError(path, message))

    for cand in discover(list(paths) or ["."], ignored=ignored, on_skip=run.skip,
                         on_error=unlistable):
        key = os.path.normpath(cand.path)
        if key in seen or key in env_keys:
            continue  # given twice (a file and its directory), or an --env-file found by the walk
        seen.add(key)
        here = os.path.dirname(key)
        if here != unit_dir:
            if unit_dir is not None:
                finish_unit()
                done_dirs.add(unit_dir)
            if here in done_dirs:  # `lint a/x.yaml b a/y.yaml`: a/ comes back
                store.close()
                raise _Conflict
            unit_dir = here
        run.classify(cand)
        unit_files.append(key)
    finish_unit()
    run.finish()
    result.targets = targets_kept
    result.notes.extend(ctx.notes)
    for q in sup.expired():
        g = sup.one(q)
        if g is not None:
            store.add(g, (3, extra))
            extra += 1
    result.findings = store if stream else list(store)  # type: ignore[assignment]
    return result


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
