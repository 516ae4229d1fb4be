"""Turning files into lint targets: reading them once (``source``), env files
(``envfile``), compose interpolation (``interpolate``), published ports (``ports``), and one
builder per input kind (``qdrant_config``, ``compose``, ``k8s``, ``helm``), each building the
effective Qdrant config as Qdrant builds it, with the position of every setting."""
