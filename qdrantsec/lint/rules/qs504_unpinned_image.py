"""QS504 unpinned-image: ``qdrant/qdrant`` without a tag, or a moving tag such as ``latest``."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Location, Rule, Severity, Target
from qdrantsec.lint.rules import image_of, ref_default, ref_parts

MOVING_TAGS = frozenset({"latest", "dev", "master", "nightly", "unprivileged", "latest-unprivileged"})


def split_image(ref: str) -> tuple[str, str | None, bool]:
    """(repository, tag or None, pinned by digest)."""
    name, _, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = name.rsplit(":", 1)
        return repo, tag, bool(digest)
    return name, None, bool(digest)


#: stands for a ``${VAR}`` with no default: its value is only known at deploy time
UNKNOWN = "\x00"


def resolve_interpolation(text: str, unknown: str = "") -> tuple[str, bool]:
    """Replace ``${VAR:-default}`` parts by their defaults; (text, whether anything was replaced).
    A reference without a default becomes ``unknown`` (an empty string by default)."""
    out, i, replaced = "", 0, False
    while i < len(text):
        start = text.find("${", i)
        if start < 0:
            out += text[i:]
            break
        end = text.find("}", start)
        if end < 0:
            out += text[i:]
            break
        out += text[i:start]
        ref = text[start:end + 1]
        if ref_parts(ref) is None:
            out += ref
        else:
            default = ref_default(ref)
            out += unknown if default is None else default
        replaced, i = True, end + 1
    return out, replaced


def is_qdrant_repo(repo: str) -> bool:
    return repo.lower().endswith("qdrant/qdrant")


class UnpinnedImage(Rule):
    id = "QS504"
    name = "unpinned-image"
    severity = Severity.MEDIUM
    summary = "The `qdrant/qdrant` image has no tag, or a moving tag (`latest`, `dev`, ...)."
    rationale = (
        "A moving tag upgrades Qdrant whenever the image is pulled again: security defaults, "
        "config keys and on-disk formats change without review, a rollback target is unknown, and "
        "peers of a cluster can end up on different versions. `dev` tracks unreleased code."
    )
    example = "services:\n  qdrant:\n    image: qdrant/qdrant:latest\n"
    fix = ("Pin a release, e.g. `qdrant/qdrant:v1.19.0` (or `-unprivileged`), ideally with its digest "
           "(`@sha256:...`), and upgrade on purpose.")
    references = ("https://hub.docker.com/r/qdrant/qdrant/tags",)
    kinds = ("compose", "k8s", "helm-values")

    def check(self, target: Target) -> Iterable[Finding]:
        if target.helm_values is not None and target.compose_service is None and target.workload is None:
            node = target.helm_values.get("image", "tag")
            if node is not None and str(node.value).strip().lower() in MOVING_TAGS:
                yield self.finding(f"Helm `image.tag` is the moving tag {node.value!r}",
                                   target.node_loc(node), target=target)
            return
        image, node = image_of(target)
        if image is None or node is None:
            return
        resolved, interpolated = resolve_interpolation(image, UNKNOWN)
        repo, tag, pinned = split_image(resolved.strip())
        if pinned or not is_qdrant_repo(repo) or (tag is not None and UNKNOWN in tag):
            return  # a digest, another image, or a tag chosen at deploy time (`:${APP_TAG}`)
        file = target.workload.file if target.workload is not None else target.file
        where = Location.of_node(file, node)
        via = f" (by default of `{image}`)" if interpolated else ""
        if not tag:
            yield self.finding(f"image {resolved} has no tag{via}, so it means `latest`", where,
                               target=target)
        elif tag.lower() in MOVING_TAGS:
            yield self.finding(f"image {resolved} uses the moving tag `{tag}`{via}", where, target=target)
