"""Checks one rendering of the chart for what a lenient YAML reader would hide.

Usage: check_yaml.py RENDERED.yaml
- a mapping key twice in one object (e.g. a ConfigMap variable set by the template and
  again by a service's `config`): PyYAML and kubectl keep the last one silently;
- an env var named twice in one container's `env`;
- a ConfigMap value or env value that reads as a float where an integer is meant
  (`4.194304e+06`, `300000.0`): Helm reads every number in values as a float64 and
  prints large ones in scientific notation unless the template converts it (`int64`).
Exits non-zero naming the file, the object and the key of each finding.
"""
import re
import sys

import yaml

# Scientific notation, or an integer written with a trailing ".0".
FLOATY = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$|^[+-]?\d+\.0+$")


class StrictLoader(yaml.SafeLoader):
    """A safe loader that records every mapping key seen twice in the same mapping."""

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicates = []

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                self.duplicates.append((key, seen[key], line))
            else:
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def describe(doc):
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind', '?')} {meta.get('name', '?')}"


def load(path, failures=None):
    """Every document in `path`; duplicate keys go to `failures` (or raise if None)."""
    docs = []
    with open(path, encoding="utf-8") as f:
        loader = StrictLoader(f)
        try:
            while loader.check_data():
                doc = loader.get_data()
                for key, first, line in loader.duplicates:
                    where = describe(doc) if isinstance(doc, dict) else "document"
                    message = f"{path}:{line}: {where}: duplicate key {key!r} (first at line {first})"
                    if failures is None:
                        raise ValueError(message)
                    failures.append(message)
                loader.duplicates = []
                if doc:
                    docs.append(doc)
        finally:
            loader.dispose()
    return docs


def pod_specs(node):
    """Every pod spec (a mapping with `containers`) anywhere in an object."""
    if isinstance(node, dict):
        if isinstance(node.get("containers"), list):
            yield node
        for value in node.values():
            yield from pod_specs(value)
    elif isinstance(node, list):
        for value in node:
            yield from pod_specs(value)


def check(path):
    failures = []
    for doc in load(path, failures):
        where = f"{path}: {describe(doc)}"
        if doc.get("kind") == "ConfigMap":
            for key, value in (doc.get("data") or {}).items():
                if FLOATY.match(str(value)):
                    failures.append(f"{where}: data.{key} = {value!r} reads as a float (render integers with int64)")
        for pod in pod_specs(doc):
            for c in pod.get("initContainers", []) + pod["containers"]:
                names = set()
                for e in c.get("env") or []:
                    name = e.get("name")
                    if name in names:
                        failures.append(f"{where}: container {c.get('name')}: env {name} set twice")
                    names.add(name)
                    if "value" in e and FLOATY.match(str(e["value"])):
                        failures.append(f"{where}: container {c.get('name')}: env {name} = {e['value']!r} reads as a float")
    return failures


def main(paths):
    failures = [f for path in paths for f in check(path)]
    if failures:
        print("rendered YAML check failed:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"rendered YAML: no duplicate keys or env vars, no float-looking values in {', '.join(paths)}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
