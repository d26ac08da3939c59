#!/usr/bin/env python3
"""Syntax and consistency check of deploy/ (run by scripts/test; needs only Python 3 and PyYAML).

    scripts/check-deploy.py [--parity BIN] [--root DIR]

1. deploy/kubernetes/*.yaml: every document parses (duplicate keys refused) and is a Kubernetes
   object. There is a CronJob (schedule, concurrencyPolicy Forbid, startingDeadlineSeconds) and
   an Indexed Job (completions == parallelism == N, `--shard $(JOB_COMPLETION_INDEX)/N`, the
   variable declared from the completion-index annotation). Every Job's pods restart Never,
   have a retry bound, run `parity run` as non-root on a read-only root filesystem, spill to an
   emptyDir (`--spill-dir`), keep `--memory-limit` below the container's memory limit, never
   retry exit 1 (a pod failure policy rule, if the Job retries at all: a retry would skip the
   divergence the first try recorded in the ledger, and could end green), read
   `--config` from a ConfigMap defined here (whose inventory is valid TOML) and run as a
   ServiceAccount defined here with a workload identity annotation. `--shard` appears only in
   Indexed Jobs. Nothing looks like a credential: no Secret objects or secret references, no
   env var, ConfigMap key or inventory key named like one (SECRET, PASSWORD, TOKEN, ACCESS_KEY,
   SAS, CONNECTION_STRING, ...), no value shaped like one (AKIA..., private keys, SAS
   signatures, passwords in URLs, ...).
2. deploy/**/*.py: each file parses (ast.parse; Airflow and Dagster are not imported), runs
   `parity run` (a bash_command, a subprocess call's argv, a pod's cmds + arguments), holds no
   credential-like value, and, where it runs parity through an operator that cannot tell exit
   codes apart (bash_command, cmds), sets no retries.
3. Dockerfile (at the root): a multi-stage build whose build stage runs `cargo build --release
   --locked` and whose runtime stage (not the Rust image) installs CA certificates, copies the
   binary from the build stage to the exec-form ENTRYPOINT, runs as a numeric non-root USER,
   and sets TMPDIR to a folder it creates, chowns to that user and declares as a VOLUME. Every
   `parity run` container in deploy/kubernetes runs the image the header says to `docker build
   -t` (its tag is Cargo.toml's version, as is the version LABEL), as that uid/gid, with that
   binary as command, `--spill-dir` = TMPDIR and `--config` = the image's PARITY_CONFIG; every
   other parity image named in deploy/ is the same one; .dockerignore excludes target/.
   Python files that retry (a Prefect task's retries, a Dagster op's retry_policy) must spare
   exit 1: a retry_condition_fn, or allow_retries=False on the Failure whose text says "exit 1".
4. With --parity BIN: `BIN run --help` lists every `--flag` that a manifest's `parity run` or a
   Python file uses, so deploy/ cannot drift from the CLI, and `BIN inventory --offline`
   accepts every inventory (*.toml) in a ConfigMap. Without --parity, this part is skipped
   with a note.

Prints one line per file checked; stops at the first problem with a message and exit code 1.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("check-deploy: PyYAML is missing: `pip install pyyaml` (scripts/test installs it)")

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    tomllib = None


class Problem(Exception):
    """The first thing wrong with deploy/; its text is the whole message."""


def fail(where: str, message: str) -> None:
    raise Problem(f"{where}: {message}")


# --- credentials -------------------------------------------------------------------------------

# Words in a variable or key name that say its value is a credential.
SECRET_NAME_WORDS = (
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "TOKEN",
    "ACCESS_KEY",
    "ACCOUNT_KEY",
    "PRIVATE_KEY",
    "API_KEY",
    "CONNECTION_STRING",
)
# Matched as a whole word only: "SAS" inside a longer word is not an Azure SAS.
SECRET_NAME_WORD_RE = re.compile(r"(?:^|_)SAS(?:_|$)")
# Paths to the short-lived tokens that workload identity webhooks project into the pod.
ALLOWED_SECRET_LIKE_NAMES = {
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AZURE_FEDERATED_TOKEN_FILE",
}
SECRET_VALUE_PATTERNS = [
    (re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"), "an AWS access key id"),
    (re.compile(r"(?i)aws_secret_access_key\s*[=:]"), "an AWS secret access key"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\"private_key\"\s*:"), "a service account key file"),
    (re.compile(r"(?i)(?:^|;)\s*AccountKey="), "an Azure storage account key"),
    (re.compile(r"(?i)SharedAccessSignature=|[?&]sig=[A-Za-z0-9%+/=]{10,}"), "an Azure SAS token"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}|\bgithub_pat_[A-Za-z0-9_]{20,}"), "a GitHub token"),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), "a Google API key"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\."), "a JSON web token"),
    (re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"), "a URL with a password"),
]
WHERE_CREDENTIALS_COME_FROM = (
    "credentials come only from the environment and workload identity (IRSA, GKE or Azure "
    "workload identity), never from a file in deploy/"
)


def secret_like_name(name: str) -> bool:
    norm = re.sub(r"[^A-Z0-9]+", "_", name.upper())
    if norm in ALLOWED_SECRET_LIKE_NAMES:
        return False
    return any(word in norm for word in SECRET_NAME_WORDS) or bool(SECRET_NAME_WORD_RE.search(norm))


def check_secret_value(where: str, value: str) -> None:
    for pattern, what in SECRET_VALUE_PATTERNS:
        if pattern.search(value):
            fail(where, f"a value looks like {what}: {WHERE_CREDENTIALS_COME_FROM}")


def check_no_secret_values(where: str, obj: object) -> None:
    """Every string in a parsed document, keys included."""
    if isinstance(obj, str):
        check_secret_value(where, obj)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            check_no_secret_values(where, key)
            check_no_secret_values(where, value)
    elif isinstance(obj, list):
        for item in obj:
            check_no_secret_values(where, item)


def check_no_secret_names(where: str, obj: object, path: str = "") -> None:
    """Every key of a parsed TOML or YAML mapping, at any depth."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            here = f"{path}.{key}" if path else str(key)
            if secret_like_name(str(key)):
                fail(where, f"key `{here}` is named like a credential: {WHERE_CREDENTIALS_COME_FROM}")
            check_no_secret_names(where, value, here)
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            check_no_secret_names(where, item, f"{path}[{i}]")


# --- YAML --------------------------------------------------------------------------------------


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class Doc:
    def __init__(self, rel: str, index: int, body: dict):
        self.rel = rel
        self.body = body
        self.kind = body.get("kind")
        self.name = (body.get("metadata") or {}).get("name")
        self.where = f"{rel}: {self.kind}/{self.name}" if self.name else f"{rel} (document {index})"


def load_manifests(root: Path) -> tuple[list[str], list[Doc]]:
    folder = root / "deploy" / "kubernetes"
    files = sorted(list(folder.glob("*.yaml")) + list(folder.glob("*.yml")))
    if not files:
        fail(str(folder), "no Kubernetes manifests (*.yaml) found")
    rels, docs = [], []
    for path in files:
        rel = path.relative_to(root).as_posix()
        rels.append(rel)
        try:
            bodies = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=StrictLoader))
        except yaml.YAMLError as err:
            fail(rel, f"not valid YAML: {err}")
        count = 0
        for index, body in enumerate(bodies, start=1):
            if body is None:
                continue
            count += 1
            if not isinstance(body, dict):
                fail(f"{rel} (document {index})", "is not a mapping")
            for field in ("apiVersion", "kind"):
                if not isinstance(body.get(field), str) or not body[field]:
                    fail(f"{rel} (document {index})", f"has no `{field}`")
            name = (body.get("metadata") or {}).get("name")
            if not isinstance(name, str) or not name:
                fail(f"{rel} (document {index})", "has no `metadata.name`")
            docs.append(Doc(rel, index, body))
        if count == 0:
            fail(rel, "holds no Kubernetes object")
    return rels, docs


# --- sizes -------------------------------------------------------------------------------------

K8S_SUFFIX = {
    "": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "m": Fraction(1, 1000),
}


def k8s_bytes(where: str, quantity: object) -> Fraction:
    text = str(quantity).strip()
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+)|([a-zA-Z]*))", text)
    if not m or (m.group(3) or "") not in K8S_SUFFIX:
        fail(where, f"`{text}` is not a Kubernetes quantity")
    number = Fraction(m.group(1))
    if m.group(2) is not None:
        return number * Fraction(10) ** int(m.group(2))
    return number * K8S_SUFFIX[m.group(3) or ""]


def parity_bytes(where: str, text: str) -> Fraction:
    """Mirrors parity's size parser: a number and an optional binary unit (k, MiB, GB = 2^30...)."""
    m = re.fullmatch(r"([0-9.]+)\s*([A-Za-z]*)", text.strip())
    units = {"": 0, "b": 0, "k": 10, "kb": 10, "kib": 10, "m": 20, "mb": 20, "mib": 20,
             "g": 30, "gb": 30, "gib": 30, "t": 40, "tb": 40, "tib": 40}
    if not m or m.group(2).lower() not in units:
        fail(where, f"--memory-limit `{text}` is not a size parity accepts (e.g. 2GiB, 512MiB)")
    try:
        number = Fraction(m.group(1))
    except ValueError:
        fail(where, f"--memory-limit `{text}` is not a number with a unit")
    size = number * 2 ** units[m.group(2).lower()]
    if size < 16 * 2**20:
        fail(where, f"--memory-limit `{text}` is below parity's minimum of 16MiB")
    return size


# --- Kubernetes checks -------------------------------------------------------------------------

COMPLETION_INDEX_FIELD_PATHS = {
    "metadata.annotations['batch.kubernetes.io/job-completion-index']",
    'metadata.annotations["batch.kubernetes.io/job-completion-index"]',
}
WORKLOAD_IDENTITY_ANNOTATIONS = (
    "eks.amazonaws.com/role-arn",
    "iam.gke.io/gcp-service-account",
    "azure.workload.identity/client-id",
)
FLAG_RE = re.compile(r"^(--[a-z][a-z0-9]*(?:-[a-z0-9]+)*)(?:=.*)?$", re.S)


def container_tokens(where: str, container: dict) -> list[str]:
    """command + args as words; an element with spaces (a `sh -c` script) is split like a shell."""
    tokens = []
    for field in ("command", "args"):
        items = container.get(field) or []
        if not isinstance(items, list):
            fail(where, f"`{field}` is not a list")
        for i, item in enumerate(items):
            if not isinstance(item, str):
                fail(where, f"{field}[{i}] is {type(item).__name__} {item!r}, not a string "
                            "(quote it in YAML: a bare `-` is a list, a bare 4 a number)")
            tokens.extend(shlex.split(item) if re.search(r"\s", item) else [item])
    return tokens


def parity_run_args(tokens: list[str]) -> list[str] | None:
    """The words after `parity run`, or None if the container does not run it."""
    for i in range(len(tokens) - 1):
        if os.path.basename(tokens[i]) == "parity" and tokens[i + 1] == "run":
            return tokens[i + 2:]
    return None


def flag_values(args: list[str], flag: str) -> list[str]:
    values = []
    for i, word in enumerate(args):
        if word == flag:
            values.append(args[i + 1] if i + 1 < len(args) else "")
        elif word.startswith(flag + "="):
            values.append(word[len(flag) + 1:])
    return values


def one_flag_value(where: str, args: list[str], flag: str) -> str | None:
    values = flag_values(args, flag)
    if len(values) > 1:
        fail(where, f"`{flag}` is given {len(values)} times")
    if values and (values[0] == "" or FLAG_RE.match(values[0])):
        fail(where, f"`{flag}` has no value")
    return values[0] if values else None


def env_by_name(where: str, container: dict) -> dict:
    env = {}
    for item in container.get("env") or []:
        name = item.get("name")
        if not isinstance(name, str):
            fail(where, "an env entry has no name")
        if secret_like_name(name):
            fail(where, f"env var `{name}` is named like a credential: {WHERE_CREDENTIALS_COME_FROM}")
        if "secretKeyRef" in (item.get("valueFrom") or {}):
            fail(where, f"env var `{name}` comes from a Secret: {WHERE_CREDENTIALS_COME_FROM}")
        env[name] = item
    for item in container.get("envFrom") or []:
        if "secretRef" in item:
            fail(where, f"envFrom reads a Secret: {WHERE_CREDENTIALS_COME_FROM}")
    return env


def mount_for(path: str, mounts: list[dict]) -> tuple[dict, str] | None:
    """The volumeMount holding `path`, and the path inside that volume."""
    best = None
    for m in mounts:
        mount_path = str(m.get("mountPath", "")).rstrip("/")
        if path == mount_path:
            inner = m.get("subPath", "")
        elif path.startswith(mount_path + "/"):
            inner = path[len(mount_path) + 1:]
            if m.get("subPath"):
                inner = f"{m['subPath']}/{inner}"
        else:
            continue
        if best is None or len(mount_path) > len(str(best[0].get("mountPath", "")).rstrip("/")):
            best = (m, inner)
    return best


def check_pod(where: str, pod: dict, objects: dict, flags: dict, rel: str,
              shard_n: int | None) -> list[str]:
    """Checks one pod template; returns the names of the containers that run `parity run`."""
    if pod.get("restartPolicy") != "Never":
        fail(where, f"restartPolicy is {pod.get('restartPolicy')!r}, want 'Never' (the Job, not the "
                    "kubelet, decides retries, and a failed check stays visible as a failed pod)")

    sa = pod.get("serviceAccountName")
    if not sa:
        fail(where, "no serviceAccountName: the pods would run as the namespace's default "
                    "ServiceAccount, without workload identity for the object stores")
    account = objects.get(("ServiceAccount", sa))
    if account is None:
        fail(where, f"ServiceAccount `{sa}` is not defined in deploy/kubernetes/")
    annotations = (account.body.get("metadata") or {}).get("annotations") or {}
    if not any(a in annotations for a in WORKLOAD_IDENTITY_ANNOTATIONS):
        fail(account.where, "has no workload identity annotation (one of "
                            + ", ".join(WORKLOAD_IDENTITY_ANNOTATIONS) + ")")

    volumes = {}
    for v in pod.get("volumes") or []:
        if "secret" in v or any("secret" in s for s in (v.get("projected") or {}).get("sources", [])):
            fail(where, f"volume `{v.get('name')}` mounts a Secret: {WHERE_CREDENTIALS_COME_FROM}")
        volumes[v.get("name")] = v

    pod_sc = pod.get("securityContext") or {}
    runners = []
    for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        cwhere = f"{where}: container `{container.get('name')}`"
        env = env_by_name(cwhere, container)
        args = parity_run_args(container_tokens(cwhere, container))
        if args is None:
            continue
        runners.append(container.get("name"))
        for word in args:
            m = FLAG_RE.match(word)
            if m:
                flags.setdefault(m.group(1), set()).add(rel)

        sc = container.get("securityContext") or {}
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
            fail(cwhere, "runAsNonRoot is not true (pod or container securityContext)")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            fail(cwhere, "runAsUser is 0 (root)")
        if sc.get("readOnlyRootFilesystem") is not True:
            fail(cwhere, "securityContext.readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            fail(cwhere, "securityContext.allowPrivilegeEscalation is not false")

        mounts = container.get("volumeMounts") or []
        spill = one_flag_value(cwhere, args, "--spill-dir")
        if spill is None:
            fail(cwhere, "no --spill-dir: name the emptyDir the row diff spills to (the root "
                         "filesystem is read-only)")
        found = mount_for(spill, mounts)
        if found is None or "emptyDir" not in volumes.get(found[0].get("name"), {}):
            fail(cwhere, f"--spill-dir {spill} is not on an emptyDir volume mount")
        if (volumes[found[0]["name"]]["emptyDir"] or {}).get("medium") == "Memory":
            fail(cwhere, f"--spill-dir {spill} is on a memory-backed emptyDir: spilling would "
                         "count against the memory limit it is meant to relieve")

        budget = one_flag_value(cwhere, args, "--memory-limit")
        limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
        if budget is None:
            fail(cwhere, "no --memory-limit (the row diff's memory budget)")
        if limit is None:
            fail(cwhere, "no resources.limits.memory")
        if parity_bytes(cwhere, budget) >= k8s_bytes(cwhere, limit):
            fail(cwhere, f"--memory-limit {budget} is not below the container's memory limit "
                         f"{limit}: the pod would be OOM-killed before parity spills")

        config = one_flag_value(cwhere, args, "--config")
        if config is None and "PARITY_CONFIG" in env:
            config = env["PARITY_CONFIG"].get("value")
        if not config:
            fail(cwhere, "neither --config nor PARITY_CONFIG: parity would look for "
                         "./parity.toml in the image")
        found = mount_for(config, mounts)
        volume = volumes.get(found[0].get("name")) if found else None
        if not volume or "configMap" not in volume:
            fail(cwhere, f"--config {config} is not on a ConfigMap volume mount")
        cm_name = volume["configMap"].get("name")
        key = found[1]
        for item in volume["configMap"].get("items") or []:
            if item.get("path") == key:
                key = item.get("key")
        cm = objects.get(("ConfigMap", cm_name))
        if cm is None:
            fail(cwhere, f"ConfigMap `{cm_name}` (for --config {config}) is not defined in "
                         "deploy/kubernetes/")
        if key not in (cm.body.get("data") or {}):
            fail(cwhere, f"--config {config}: ConfigMap `{cm_name}` has no key `{key}`")

        shards = flag_values(args, "--shard")
        if shard_n is None:
            if shards:
                fail(cwhere, "--shard in a Job that is not Indexed: every pod would take the "
                             "same share and the other shards' units would never be checked")
        else:
            want = f"$(JOB_COMPLETION_INDEX)/{shard_n}"
            if shards != [want]:
                got = " ".join(f"--shard {s}" for s in shards) or "no --shard"
                fail(cwhere, f"has {got}, want `--shard {want}` (N = completions = {shard_n}): "
                             "otherwise the shards would not cover every unit exactly once")
            field = ((env.get("JOB_COMPLETION_INDEX") or {}).get("valueFrom") or {}).get(
                "fieldRef", {}).get("fieldPath")
            if field not in COMPLETION_INDEX_FIELD_PATHS:
                fail(cwhere, "JOB_COMPLETION_INDEX is not declared in env from the downward API "
                             "(fieldPath metadata.annotations['batch.kubernetes.io/job-completion-index'])")
    if not runners:
        fail(where, "no container runs `parity run` (command/args must hold `parity` then `run`)")
    return runners


def stops_exit_1(rule: dict, container: str) -> bool:
    """Whether a podFailurePolicy rule fails the Job (or the index) when `container` exits 1."""
    codes = rule.get("onExitCodes") or {}
    values = codes.get("values") or []
    if rule.get("action") not in ("FailJob", "FailIndex"):
        return False
    if codes.get("containerName") not in (None, container):
        return False
    return (codes.get("operator") == "In" and 1 in values) or (
        codes.get("operator") == "NotIn" and 1 not in values)


def check_job_spec(where: str, spec: dict, objects: dict, flags: dict, rel: str) -> str:
    if not isinstance(spec, dict):
        fail(where, "has no Job spec")
    if spec.get("backoffLimit") is None and spec.get("backoffLimitPerIndex") is None:
        fail(where, "no backoffLimit (or backoffLimitPerIndex): say how many retries a failed "
                    "check gets (Kubernetes would pick 6)")
    shard_n = None
    if spec.get("completionMode") == "Indexed":
        n, par = spec.get("completions"), spec.get("parallelism")
        if not isinstance(n, int) or n < 1:
            fail(where, f"an Indexed Job needs completions >= 1, got {n!r}")
        if par != n:
            fail(where, f"parallelism ({par!r}) differs from completions ({n}): every shard "
                        "should run at once")
        shard_n = n
    pod = (spec.get("template") or {}).get("spec")
    if not isinstance(pod, dict):
        fail(where, "has no pod template (template.spec)")
    runners = check_pod(where, pod, objects, flags, rel, shard_n)

    # Exit 1 must not be retried: the first try recorded the divergence in the ledger, which
    # settles the unit, so a retry would skip it and could succeed.
    per_index = spec.get("backoffLimitPerIndex")
    retries = per_index if per_index is not None else spec.get("backoffLimit", 6)
    if isinstance(retries, int) and retries > 0:
        rules = (spec.get("podFailurePolicy") or {}).get("rules") or []
        for name in runners:
            rule = next((r for r in rules if stops_exit_1(r, name)), None)
            if rule is None:
                fail(where, f"retries failed pods but no podFailurePolicy rule fails the Job "
                            f"(FailJob, or FailIndex per shard) on exit code 1 of `{name}`: a "
                            "retry would skip the divergence the first try recorded and could "
                            "end green")
            if rule["action"] == "FailIndex" and per_index is None:
                fail(where, "podFailurePolicy action FailIndex needs backoffLimitPerIndex")
    return f"Indexed, {shard_n} shards" if shard_n else "not indexed"


def check_kubernetes(root: Path, flags: dict, inventories: list) -> None:
    rels, docs = load_manifests(root)
    objects = {}
    for doc in docs:
        if (doc.kind, doc.name) in objects:
            fail(doc.where, "defined twice")
        objects[(doc.kind, doc.name)] = doc

    cronjobs = indexed = 0
    for rel in rels:
        summary = []
        for doc in (d for d in docs if d.rel == rel):
            body = doc.body
            check_no_secret_values(doc.where, body)
            if doc.kind == "Secret":
                fail(doc.where, f"a Secret in deploy/: {WHERE_CREDENTIALS_COME_FROM}")
            if doc.kind == "ConfigMap":
                for field in ("data", "binaryData"):
                    for key, value in (body.get(field) or {}).items():
                        if secret_like_name(key):
                            fail(doc.where, f"key `{key}` is named like a credential: "
                                            f"{WHERE_CREDENTIALS_COME_FROM}")
                        if field == "data" and key.endswith(".toml"):
                            if not isinstance(value, str):
                                fail(doc.where, f"`{key}` is not a string")
                            inventories.append((f"{doc.where}: {key}", value))
                            if tomllib is not None:
                                try:
                                    parsed = tomllib.loads(value)
                                except tomllib.TOMLDecodeError as err:
                                    fail(doc.where, f"`{key}` is not valid TOML: {err}")
                                check_no_secret_names(f"{doc.where}: {key}", parsed)
                summary.append(f"ConfigMap/{doc.name}")
            elif doc.kind == "CronJob":
                spec = body.get("spec") or {}
                schedule = spec.get("schedule")
                if not isinstance(schedule, str) or not (
                    len(schedule.split()) == 5 or schedule.startswith("@")
                ):
                    fail(doc.where, f"schedule {schedule!r} is not a cron schedule")
                if spec.get("concurrencyPolicy") != "Forbid":
                    fail(doc.where, f"concurrencyPolicy is {spec.get('concurrencyPolicy')!r}, "
                                    "want 'Forbid' (no two runs at once)")
                deadline = spec.get("startingDeadlineSeconds")
                if not isinstance(deadline, int) or deadline <= 0:
                    fail(doc.where, "no startingDeadlineSeconds: a missed run would start "
                                    "at any later time")
                job = (spec.get("jobTemplate") or {}).get("spec")
                kind = check_job_spec(doc.where, job, objects, flags, rel)
                cronjobs += 1
                summary.append(f"CronJob/{doc.name} ({spec['schedule']}, {kind})")
            elif doc.kind == "Job":
                kind = check_job_spec(doc.where, body.get("spec"), objects, flags, rel)
                indexed += (body.get("spec") or {}).get("completionMode") == "Indexed"
                summary.append(f"Job/{doc.name} ({kind})")
            else:
                summary.append(f"{doc.kind}/{doc.name}")
        print(f"ok  {rel}: {', '.join(summary)}", flush=True)
    if cronjobs == 0:
        fail("deploy/kubernetes", "no CronJob running `parity run`")
    if indexed == 0:
        fail("deploy/kubernetes", "no Indexed Job (completionMode: Indexed) running `parity run`")


# --- Dockerfile ----------------------------------------------------------------------------------

DOCKER_PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
IMAGE_RE = re.compile(r"(?<![\w./-])((?:[a-z0-9.-]+(?::[0-9]+)?/)+parity):([A-Za-z0-9_.-]+)")


class Stage:
    """One FROM ... stage of a Dockerfile: its name and its instructions, in order."""

    def __init__(self, base: str, name: str | None, line: int):
        self.base, self.name, self.line = base, name, line
        self.instructions: list[tuple[int, str, str]] = []  # (line, INSTRUCTION, arguments)

    def all(self, keyword: str) -> list[tuple[int, str]]:
        return [(n, a) for n, k, a in self.instructions if k == keyword]


def parse_dockerfile(rel: str, text: str) -> tuple[list[Stage], list[str]]:
    """The stages of a Dockerfile (continuation lines joined) and its comment lines."""
    stages: list[Stage] = []
    comments: list[str] = []
    logical, start = "", 0
    lines = text.splitlines()
    for number, raw in enumerate(lines + [""], start=1):
        stripped = raw.strip()
        if stripped.startswith("#"):
            comments.append(stripped[1:].strip())
            if not logical:
                continue
            continue  # a comment inside a continued instruction is dropped, as Docker does
        if not logical:
            start = number
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        if not logical.strip():
            logical = ""
            continue
        keyword, _, args = logical.strip().partition(" ")
        keyword, args = keyword.upper(), args.strip()
        logical = ""
        if keyword == "FROM":
            words = args.split()
            words = [w for w in words if not w.startswith("--")]
            if not words:
                fail(f"{rel}:{start}", "FROM without an image")
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name, start))
        elif keyword == "ARG" and not stages:
            continue
        elif not stages:
            fail(f"{rel}:{start}", f"{keyword} before the first FROM")
        else:
            stages[-1].instructions.append((start, keyword, args))
    return stages, comments


def exec_form(where: str, keyword: str, args: str) -> list[str]:
    try:
        value = json.loads(args)
    except ValueError:
        value = None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        fail(where, f"{keyword} is not in exec form ([\"/path\", ...]): in shell form the binary "
                    "runs under /bin/sh -c, does not get signals, and its exit code is the shell's")
    return value


def env_values(stage: Stage) -> dict[str, str]:
    """ENV KEY=VALUE ... (and the old ENV KEY VALUE) of one stage."""
    values = {}
    for _, args in stage.all("ENV"):
        words = shlex.split(args)
        if words and "=" not in words[0]:
            values[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            key, _, value = word.partition("=")
            values[key] = value
    return values


def runners_in_manifests(root: Path) -> list[tuple[str, dict, dict]]:
    """(where, pod spec, container) for every container of a Job or CronJob running parity run."""
    _, docs = load_manifests(root)
    found = []
    for doc in docs:
        spec = doc.body.get("spec") or {}
        if doc.kind == "CronJob":
            spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        elif doc.kind != "Job":
            continue
        pod = (spec.get("template") or {}).get("spec") or {}
        for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
            where = f"{doc.where}: container `{container.get('name')}`"
            if parity_run_args(container_tokens(where, container)) is not None:
                found.append((where, pod, container))
    return found


def check_dockerfile(root: Path) -> None:
    rel = "Dockerfile"
    path = root / rel
    if not path.is_file():
        fail(rel, "missing: deploy/kubernetes runs an image that this file must build")
    stages, comments = parse_dockerfile(rel, path.read_text(encoding="utf-8"))
    if len(stages) < 2:
        fail(rel, f"{len(stages)} stage(s): want a multi-stage build (a build stage with the Rust "
                  "toolchain, then a small runtime image without it)")
    final, builders = stages[-1], stages[:-1]

    # The build stage builds the release binary from the locked dependencies.
    builds = [(s, n, a) for s in builders for n, a in s.all("RUN")
              if re.search(r"\bcargo\s+build\b", a)]
    if not builds:
        fail(rel, "no build stage runs `cargo build`")
    stage, line, build = builds[0]
    for flag in ("--release", "--locked"):
        if flag not in build.split():
            fail(f"{rel}:{line}", f"`cargo build` without {flag}")
    if final.base.split(":")[0] in ("rust", "docker.io/library/rust") or any(
            re.search(r"\bcargo\b", a) for _, a in final.all("RUN")):
        fail(f"{rel}:{final.line}", "the runtime stage is the Rust toolchain image or runs "
                                    "cargo: the image would carry the whole toolchain")

    # CA certificates, for HTTPS to the object stores.
    if not any("ca-certificates" in a for _, a in final.all("RUN")) \
            and "distroless" not in final.base:
        fail(f"{rel}:{final.line}", "the runtime stage does not install ca-certificates: "
                                    "HTTPS to S3, GCS and Azure would fail")

    # The entrypoint is the binary that the runtime stage copies from the build stage.
    entrypoints = final.all("ENTRYPOINT")
    if len(entrypoints) != 1:
        fail(rel, f"the runtime stage has {len(entrypoints)} ENTRYPOINT instructions, want 1")
    line, args = entrypoints[0]
    entrypoint = exec_form(f"{rel}:{line}", "ENTRYPOINT", args)[0]
    if not entrypoint.startswith("/") or os.path.basename(entrypoint) != "parity":
        fail(f"{rel}:{line}", f"ENTRYPOINT {entrypoint!r} is not an absolute path to `parity`")
    copied = []
    for n, a in final.all("COPY"):
        words = shlex.split(a)
        if any(w.startswith("--from=") for w in words):
            copied.append(words[-1])
    if entrypoint not in copied:
        fail(f"{rel}:{line}", f"ENTRYPOINT {entrypoint} is not a file the runtime stage copies "
                              f"from the build stage (COPY --from=... targets: {copied or 'none'})")

    # A numeric, non-root user: Kubernetes can only verify runAsNonRoot for a numeric USER.
    users = final.all("USER")
    if not users:
        fail(rel, "the runtime stage sets no USER: the binary would run as root")
    line, user = users[-1]
    m = re.fullmatch(r"([0-9]+)(?::([0-9]+))?", user.strip())
    if not m:
        fail(f"{rel}:{line}", f"USER {user!r} is not numeric uid:gid: Kubernetes cannot check "
                              "runAsNonRoot against a user name")
    uid, gid = int(m.group(1)), int(m.group(2)) if m.group(2) else None
    if uid == 0:
        fail(f"{rel}:{line}", "USER is 0 (root)")

    env = env_values(final)
    tmpdir = env.get("TMPDIR")
    if not tmpdir:
        fail(rel, "no ENV TMPDIR: spill files would go to /tmp of a read-only root filesystem")
    setup = " ".join(a for _, a in final.all("RUN"))
    if not re.search(rf"\bmkdir\b[^&;]*\s{re.escape(tmpdir)}(?:\s|$)", setup):
        fail(rel, f"TMPDIR {tmpdir} is not created (mkdir) in the runtime stage")
    owner = rf"{uid}(?::{gid})?" if gid is not None else rf"{uid}"
    if not re.search(rf"\bchown\b[^&;]*\s{owner}\s[^&;]*{re.escape(tmpdir)}(?:\s|$)", setup):
        fail(rel, f"TMPDIR {tmpdir} is not chowned to the USER {user}: it would not be writable "
                  "when nothing is mounted there")
    volumes = [v for _, a in final.all("VOLUME") for v in
               (json.loads(a) if a.strip().startswith("[") else a.split())]
    if tmpdir not in volumes:
        fail(rel, f"TMPDIR {tmpdir} is not a VOLUME: `docker run --read-only` could not spill")

    # The image name: the tag the Dockerfile says to build, the version it labels.
    built = sorted({m.group(0) for c in comments if re.search(r"\bdocker\s+build\b", c)
                    for m in IMAGE_RE.finditer(c)})
    if len(built) != 1:
        fail(rel, f"its header must say `docker build -t REGISTRY/OWNER/parity:VERSION .` once; "
                  f"found {built or 'none'}")
    image = built[0]
    tag = image.rsplit(":", 1)[1]
    cargo = (root / "Cargo.toml").read_text(encoding="utf-8")
    version = re.search(r'(?m)^version\s*=\s*"([^"]+)"', cargo).group(1)
    if tag != version:
        fail(rel, f"builds {image}, but Cargo.toml's version is {version}")
    labels = " ".join(a for _, a in final.all("LABEL"))
    label = re.search(r'org\.opencontainers\.image\.version="?([^"\s]+)', labels)
    if not label or label.group(1) != version:
        fail(rel, f"LABEL org.opencontainers.image.version is "
                  f"{label.group(1) if label else 'missing'}, want {version} (Cargo.toml)")

    # Every manifest runs this image, as this user, with this binary and these paths.
    runners = runners_in_manifests(root)
    for where, pod, container in runners:
        if container.get("image") != image:
            fail(where, f"image {container.get('image')!r}, but the Dockerfile builds {image}")
        command = (container.get("command") or [None])[0]
        if command is not None and command != entrypoint and not (
                command == os.path.basename(entrypoint)
                and os.path.dirname(entrypoint) in DOCKER_PATH_DIRS):
            fail(where, f"command {command!r} is not the image's binary {entrypoint}")
        sc, pod_sc = container.get("securityContext") or {}, pod.get("securityContext") or {}
        run_uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
        run_gid = sc.get("runAsGroup", pod_sc.get("runAsGroup"))
        if run_uid != uid:
            fail(where, f"runAsUser {run_uid!r}, but the image's USER is {uid}")
        if gid is not None and run_gid not in (None, gid):
            fail(where, f"runAsGroup {run_gid!r}, but the image's USER group is {gid}")
        args = parity_run_args(container_tokens(where, container)) or []
        spill = one_flag_value(where, args, "--spill-dir")
        if spill != tmpdir:
            fail(where, f"--spill-dir {spill}, but the image's spill folder (TMPDIR) is {tmpdir}")
        config = one_flag_value(where, args, "--config")
        if env.get("PARITY_CONFIG") and config not in (None, env["PARITY_CONFIG"]):
            fail(where, f"--config {config}, but the image's PARITY_CONFIG is "
                        f"{env['PARITY_CONFIG']}")
    if not runners:
        fail("deploy/kubernetes", "no container runs the image")

    # Every other mention of a parity image in deploy/ names the same one.
    for other in sorted((root / "deploy").rglob("*")):
        if other.suffix not in (".md", ".py", ".yaml", ".yml") or not other.is_file():
            continue
        for m in IMAGE_RE.finditer(other.read_text(encoding="utf-8")):
            if m.group(0) != image:
                fail(other.relative_to(root).as_posix(),
                     f"names the image {m.group(0)}, but the Dockerfile builds {image}")

    ignore = root / ".dockerignore"
    patterns = ignore.read_text(encoding="utf-8").split() if ignore.is_file() else []
    if not any(p.strip("/").lstrip("*/") == "target" for p in patterns):
        fail(".dockerignore", "missing or does not exclude target/: the build context would carry "
                              "gigabytes of build output")
    print(f"ok  Dockerfile: {len(stages)} stages, runs {entrypoint} as {user} with TMPDIR "
          f"{tmpdir}; {image} is the image of {len(runners)} parity containers in "
          "deploy/kubernetes", flush=True)


# --- Python ------------------------------------------------------------------------------------

FLAG_IN_TEXT_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9]*(?:-[a-z0-9]+)*)")
SUBPROCESS_CALLS = {"run", "call", "check_call", "check_output", "Popen"}


class Commands:
    """The commands a Python file runs: an operator's bash_command, a subprocess call's argv, a
    KubernetesPodOperator's cmds + arguments. Names are resolved to the string they were assigned
    (`PARITY_BIN = "parity"`, or the default of `os.environ.get("X", "parity")`)."""

    def __init__(self, tree: ast.Module):
        self.values: dict[str, ast.expr] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Name):
                self.values.setdefault(node.targets[0].id, node.value)
        self.found: list[list[str]] = []
        self.operator_style = False  # bash_command / cmds: no way to tell exit codes apart
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                self._call(node)

    def text(self, node: ast.expr | None, depth: int = 0) -> str:
        if node is None or depth > 10:
            return "?"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and node.id in self.values:
            return self.text(self.values[node.id], depth + 1)
        if isinstance(node, ast.JoinedStr):
            return "".join(self.text(v, depth + 1) for v in node.values)
        if isinstance(node, ast.FormattedValue):
            return self.text(node.value, depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.text(node.left, depth + 1) + self.text(node.right, depth + 1)
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "quote":  # shlex.quote(x)
                return self.text(node.args[0], depth + 1)
            if name in ("get", "getenv") and len(node.args) == 2:  # os.environ.get("X", default)
                return self.text(node.args[1], depth + 1)
        return "?"

    def words(self, node: ast.expr | None) -> list[str]:
        if isinstance(node, ast.Name) and node.id in self.values:
            node = self.values[node.id]
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self.text(e) for e in node.elts]
        return self.text(node).split()

    def _call(self, call: ast.Call) -> None:
        kw = {k.arg: k.value for k in call.keywords if k.arg}
        if "bash_command" in kw:
            self.found.append(self.words(kw["bash_command"]))
            self.operator_style = True
        if "cmds" in kw or "arguments" in kw:
            self.found.append(self.words(kw.get("cmds")) + self.words(kw.get("arguments")))
            self.operator_style = True
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
        if name in SUBPROCESS_CALLS and owner in ("subprocess", ""):
            argv = call.args[0] if call.args else kw.get("args")
            if argv is not None:
                self.found.append(self.words(argv))

    def runs_parity_run(self) -> bool:
        return any(parity_run_args(words) is not None for words in self.found)


def check_retries_spare_exit_1(rel: str, tree: ast.Module) -> None:
    """A Prefect task or Dagster op that retries must not retry exit 1: Prefect needs a
    retry_condition_fn, Dagster a Failure(allow_retries=False) (for the exit-1 case)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        retries = kw.get("retries")
        retries_some = retries is not None and not (
            isinstance(retries, ast.Constant) and retries.value == 0)
        if name == "task" and retries_some:
            if "retry_condition_fn" not in kw:
                fail(f"{rel}:{node.lineno}", "a Prefect task with retries but no "
                     "retry_condition_fn: it would retry exit 1 too, and a retry skips the "
                     "divergence the first try recorded, so it could end green")
        if "retry_policy" in kw:
            # The Failure raised for exit 1: a Failure(...) call whose text says "exit 1".
            exit_1 = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                      and getattr(n.func, "attr", getattr(n.func, "id", "")) == "Failure"
                      and any(isinstance(c, ast.Constant) and isinstance(c.value, str)
                              and "exit 1" in c.value for c in ast.walk(n))]
            spared = bool(exit_1) and all(
                any(k.arg == "allow_retries" and isinstance(k.value, ast.Constant)
                    and k.value.value is False for k in n.keywords) for n in exit_1)
            if not spared:
                fail(f"{rel}:{node.lineno}", "a Dagster op with a retry_policy but no "
                     "Failure(allow_retries=False) for exit 1: it would retry exit 1 too, and a "
                     "retry skips the divergence the first try recorded, so it could end green")


def check_python(root: Path, flags: dict) -> None:
    files = sorted((root / "deploy").rglob("*.py"))
    if not files:
        print("note: no Python files under deploy/", flush=True)
    for path in files:
        rel = path.relative_to(root).as_posix()
        source = path.read_text(encoding="utf-8")
        try:
            tree = ast.parse(source, filename=rel)
        except SyntaxError as err:
            fail(f"{rel}:{err.lineno}", f"not valid Python: {err.msg}")

        used = set()
        # A script's own command-line options (argparse's add_argument("--serve", ...)) are not
        # flags it passes to parity.
        own_options = {id(arg) for node in ast.walk(tree)
                       if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                       and node.func.attr == "add_argument" for arg in node.args}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                check_secret_value(rel, node.value)
                if id(node) not in own_options:
                    used.update(FLAG_IN_TEXT_RE.findall(node.value))
        for node in ast.walk(tree):
            pairs = []
            if isinstance(node, ast.Assign):
                pairs = [(t.id, node.value) for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                pairs = [(node.target.id, node.value)]
            elif isinstance(node, ast.Dict):
                pairs = [(k.value, v) for k, v in zip(node.keys, node.values)
                         if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            elif isinstance(node, ast.keyword) and node.arg:
                pairs = [(node.arg, node.value)]
            for name, value in pairs:
                if (secret_like_name(name) and isinstance(value, ast.Constant)
                        and isinstance(value.value, str) and value.value):
                    fail(f"{rel}:{value.lineno}", f"`{name}` holds a literal credential: "
                                                  f"{WHERE_CREDENTIALS_COME_FROM}")

        commands = Commands(tree)
        if not commands.runs_parity_run():
            fail(rel, "does not run `parity run`: no bash_command, subprocess call or pod "
                      "cmds/arguments starting with `parity run`")
        if commands.operator_style:
            for node in ast.walk(tree):
                value = None
                if isinstance(node, ast.keyword) and node.arg == "retries":
                    value = node.value
                elif isinstance(node, ast.Dict):
                    value = next((v for k, v in zip(node.keys, node.values)
                                  if isinstance(k, ast.Constant) and k.value == "retries"), None)
                if value is not None and not (isinstance(value, ast.Constant) and value.value == 0):
                    fail(f"{rel}:{value.lineno}", "retries must be 0 where parity runs through an "
                         "operator that cannot tell exit 1 from exit 2: a retry after exit 1 "
                         "skips the divergence the first try recorded, and could end green")
        check_retries_spare_exit_1(rel, tree)
        if not used:
            fail(rel, "passes no --flag to parity run (expected at least --config)")
        for flag in used:
            flags.setdefault(flag, set()).add(rel)
        print(f"ok  {rel}: parses; runs parity run with {' '.join(sorted(used))}", flush=True)


# --- the CLI's own help ------------------------------------------------------------------------


def check_flags_against_help(binary: str, flags: dict) -> None:
    command = f"{binary} run --help"
    try:
        proc = subprocess.run([binary, "run", "--help"], capture_output=True, text=True,
                              timeout=60, env={**os.environ, "NO_COLOR": "1"})
    except (OSError, subprocess.TimeoutExpired) as err:
        fail(command, f"could not be run: {err}")
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        fail(command, f"exited {proc.returncode} ({' / '.join(detail[:3]) or 'no output'}); "
                      "does this binary have the `run` subcommand?")
    help_text = proc.stdout or proc.stderr
    missing = [f for f in sorted(flags)
               if not re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", help_text)]
    if missing:
        where = "; ".join(f"{f} (in {', '.join(sorted(flags[f]))})" for f in missing)
        fail(command, f"does not list {where}: deploy/ uses a flag the CLI does not have")
    print(f"ok  {command}: lists all {len(flags)} flags used in deploy/ "
          f"({' '.join(sorted(flags))})", flush=True)


def check_inventories(binary: str, inventories: list) -> None:
    for where, text in inventories:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "parity.toml"
            path.write_text(text, encoding="utf-8")
            argv = [binary, "inventory", "--config", str(path), "--offline", "--quiet"]
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                                      env={**os.environ, "NO_COLOR": "1"})
            except (OSError, subprocess.TimeoutExpired) as err:
                fail(f"{binary} inventory", f"could not be run: {err}")
            if proc.returncode != 0:
                output = (proc.stderr + proc.stdout).strip().replace(str(path), "parity.toml")
                fail(where, f"`parity inventory --offline` refuses it (exit {proc.returncode}):\n"
                            f"{output}")
        print(f"ok  {where}: `{binary} inventory --offline` accepts it", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parity", metavar="BIN",
                        help="parity binary whose `run --help` must list every flag deploy/ uses")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="repository root (default: this script's repository)")
    opts = parser.parse_args()
    root = opts.root.resolve()
    flags: dict[str, set[str]] = {}
    inventories: list[tuple[str, str]] = []
    try:
        if tomllib is None:
            print("note: Python < 3.11 has no tomllib; the inventory's TOML is not parsed")
        check_kubernetes(root, flags, inventories)
        check_dockerfile(root)
        check_python(root, flags)
        if opts.parity:
            check_flags_against_help(opts.parity, flags)
            check_inventories(opts.parity, inventories)
        else:
            print("note: no --parity BIN given: skipped checking the flags deploy/ uses "
                  f"({' '.join(sorted(flags))}) against `parity run --help`, and the "
                  "ConfigMap inventories against `parity inventory --offline`", flush=True)
    except Problem as problem:
        print(f"check-deploy: error: {problem}", file=sys.stderr)
        return 1
    print("check-deploy: deploy/ is consistent", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
