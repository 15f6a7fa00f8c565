"""Where each Task's calls go: a local stand-in, an endpoint URL, or the real service.

A ``Routing`` is an ordered list of routes. Each route names a resource pattern (shell
style: ``arn:aws:states:::sqs:*``) and where the matching Tasks go:

* ``endpoint_url``: any AWS-compatible endpoint (moto, LocalStack, a proxy), or the
  base URL of a local HTTP server standing for an API (``apigateway:invoke``);
* ``adapter``: a task adapter object (a local stand-in or a mock) that runs the task
  instead of any service (Python only);
* neither: the real service, through boto3's usual credential chain.

A resource no route matches goes where the AWS SDKs send it by their own convention:
``AWS_ENDPOINT_URL_<SERVICE>`` (``AWS_ENDPOINT_URL_SQS``, ``AWS_ENDPOINT_URL_DYNAMODB``,
``AWS_ENDPOINT_URL_SECRETS_MANAGER``, ...), else ``AWS_ENDPOINT_URL``. So pointing every
call at a local endpoint needs no setting of ours. Past that, a call reaches AWS itself
only when the configuration says so (``"default": "aws"``): a run never talks to the real
cloud by accident. A Task left unrouted fails with a cause that says how to route it; a
``.waitForTaskToken`` one waits for SendTaskSuccess/Failure from outside.

The configuration is a dict, or a JSON or YAML file holding one::

    {"routes": [{"resource": "arn:aws:states:::sqs:*", "endpoint_url": "http://127.0.0.1:5000"},
                {"resource": "arn:aws:states:::aws-sdk:s3:*", "region": "eu-west-1"}],
     "region": "us-east-1", "default": "aws"}
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROUTING_DOCS = "docs/integrations.md#routing"
ROUTE_KEYS = frozenset({"resource", "endpoint_url", "region", "adapter"})
TOP_KEYS = frozenset({"routes", "region", "default"})
DEFAULTS = ("aws", "unrouted")
AWS = "aws"  # the target meaning AWS's own endpoint


class RoutingError(ValueError):
    """A routing configuration that cannot be used; the message says what and where."""


@dataclass(frozen=True)
class Route:
    """Where the Tasks whose resource matches ``resource`` go."""

    resource: str
    endpoint_url: str | None = None
    region: str | None = None
    adapter: Any = None

    def matches(self, resource: str) -> bool:
        """Whether ``resource`` matches this route's pattern."""
        return fnmatch.fnmatchcase(resource, self.resource)


class Routing:
    """Routes in order; the first that matches a resource decides where it goes."""

    def __init__(
        self,
        routes: Iterable[Route] = (),
        *,
        region: str | None = None,
        default: str = "unrouted",
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if default not in DEFAULTS:
            raise RoutingError(f"'default' must be one of {', '.join(DEFAULTS)}: {default!r}")
        self.routes = list(routes)
        self.region = region
        self.default = default
        self._environ = environ

    @property
    def environ(self) -> Mapping[str, str]:
        """The environment the SDK convention is read from (the process's by default)."""
        return os.environ if self._environ is None else self._environ

    @classmethod
    def load(cls, config: Routing | Mapping[str, Any] | str | Path | None) -> Routing:
        """A routing from a ``Routing``, a dict, or the path of a JSON or YAML file."""
        if config is None:
            return cls()
        if isinstance(config, Routing):
            return config
        where = "the routing configuration"
        if isinstance(config, str | Path):
            path = Path(config)
            where = f"the routing file {path}"
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise RoutingError(f"cannot read {where}: {exc.strerror}") from None
            try:
                loaded = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
            except (ValueError, yaml.YAMLError) as exc:
                raise RoutingError(f"{where} is not valid JSON/YAML: {exc}") from None
            config = loaded if loaded is not None else {}
        if not isinstance(config, Mapping):
            raise RoutingError(f"{where} must be an object with a 'routes' list")
        unknown = sorted(set(config) - TOP_KEYS)
        if unknown:
            raise RoutingError(f"{where} has unknown fields: {', '.join(map(str, unknown))}")
        default = config.get("default", "unrouted")
        if default not in DEFAULTS:
            raise RoutingError(
                f"'default' in {where} must be one of {', '.join(DEFAULTS)}: {default!r}"
            )
        routes = _routes(config.get("routes", []), where)
        return cls(routes, region=_region(config, where), default=default)

    def route(self, resource: str) -> Route | None:
        """The first route matching ``resource``, or None."""
        for route in self.routes:
            if route.matches(resource):
                return route
        return None

    def target(self, resource: str, service_id: str) -> str | None:
        """Where calls for ``resource`` on the service named ``service_id`` (botocore's
        ``serviceId``, e.g. ``Secrets Manager``) go: an endpoint URL, ``AWS`` for AWS's
        own endpoint, or None when nothing routes them."""
        route = self.route(resource)
        if route is not None and route.adapter is None:
            return route.endpoint_url or AWS
        env = self.environ
        variable = "AWS_ENDPOINT_URL_" + service_id.upper().replace(" ", "_").replace("-", "_")
        found = env.get(variable) or env.get("AWS_ENDPOINT_URL")
        if found:
            return found
        return AWS if self.default == AWS else None

    def endpoint_url(self, resource: str, service_id: str) -> str | None:
        """The endpoint URL to give boto3 for ``resource``: None for AWS's own."""
        found = self.target(resource, service_id)
        return None if found in (None, AWS) else found

    def region_for(self, resource: str, default: str) -> str:
        """The region calls for ``resource`` are made in."""
        route = self.route(resource)
        if route is not None and route.region:
            return route.region
        return self.region or self.environ.get("AWS_DEFAULT_REGION") or default

    def adapter_for(self, resource: str) -> Any:
        """The stand-in adapter a route names for ``resource``, or None."""
        route = self.route(resource)
        return route.adapter if route is not None else None


def _routes(raw: Any, where: str) -> list[Route]:
    if not isinstance(raw, list):
        raise RoutingError(f"'routes' in {where} must be a list")
    routes = []
    for index, entry in enumerate(raw):
        place = f"routes[{index}] in {where}"
        if isinstance(entry, Route):
            routes.append(entry)
            continue
        if not isinstance(entry, Mapping):
            raise RoutingError(f"{place} must be an object")
        unknown = sorted(set(entry) - ROUTE_KEYS)
        if unknown:
            raise RoutingError(f"{place} has unknown fields: {', '.join(unknown)}")
        resource = entry.get("resource")
        if not isinstance(resource, str) or not resource:
            raise RoutingError(f"{place} needs 'resource', a resource ARN or pattern")
        for key in ("endpoint_url", "region"):
            value = entry.get(key)
            if value is not None and not isinstance(value, str):
                raise RoutingError(f"'{key}' of {place} must be a string")
        url = entry.get("endpoint_url")
        if url is not None and not url.startswith(("http://", "https://")):
            raise RoutingError(f"'endpoint_url' of {place} must be an http(s) URL: {url!r}")
        routes.append(Route(resource, url, entry.get("region"), entry.get("adapter")))
    return routes


def _region(config: Mapping[str, Any], where: str) -> str | None:
    region = config.get("region")
    if region is not None and not isinstance(region, str):
        raise RoutingError(f"'region' in {where} must be a string")
    return region
