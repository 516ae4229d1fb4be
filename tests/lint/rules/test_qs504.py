import pytest

from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs504_unpinned_image import UnpinnedImage

from .helpers import at, compose_target, helm_target, one, run

RULE = UnpinnedImage()


def compose(image: str) -> object:
    return compose_target(f"services:\n  qdrant:\n    image: {image}\n")


@pytest.mark.parametrize(
    "image",
    ["qdrant/qdrant", "qdrant/qdrant:latest", "docker.io/qdrant/qdrant:dev",
     "qdrant/qdrant:${QDRANT_IMAGE_TAG:-latest}", "${QDRANT_IMAGE:-qdrant/qdrant}"],
)
def test_unpinned(image: str) -> None:
    f = one(RULE, compose(image))
    assert f.severity is Severity.MEDIUM
    assert at(f) == (3, 12)


@pytest.mark.parametrize(
    "image",
    ["qdrant/qdrant:v1.19.0", "qdrant/qdrant:v1.19.0-unprivileged", "qdrant/qdrant@sha256:" + "a" * 64,
     "redis:latest", "${REGISTRY:-docker.io}/qdrant/qdrant:${V:-v1.16.0}",
     "localhost:5000/qdrant/qdrant:v1.19.0"],
)
def test_pinned_or_other(image: str) -> None:
    assert run(RULE, compose(image)) == []


def test_helm_tag() -> None:
    assert at(one(RULE, helm_target("image:\n  tag: latest\n"))) == (2, 8)
    assert run(RULE, helm_target('image:\n  tag: ""\n')) == []
