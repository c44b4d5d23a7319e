#!/bin/sh
# Checks of what operators install, beside the Rust tests (`make test` runs it; a few
# seconds): the systemd unit, the .deb's metadata and maintainer scripts, the
# Dockerfile's essentials, and the Helm chart (YAML, values schema, alert rules;
# templates only where `helm` is installed). scripts/install-test-deps.sh installs the
# tools. Under CI=true a missing tool fails the run; elsewhere it is skipped loudly.
set -eu
cd "$(dirname "$0")/.."
python=${PYTHON_FOR_TESTS:-target/test-venv/bin/python3}
chart=helm/jobber
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

failed=0
say() { printf 'test-ops: %s\n' "$*" >&2; }
fail() {
    say "FAIL: $*"
    failed=1
}
have() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "${CI:-}" = "true" ]; then
        fail "$1 is not installed (scripts/install-test-deps.sh installs it)"
    else
        say "SKIPPED: $1 is not installed (sh scripts/install-test-deps.sh)"
    fi
    return 1
}

# --- shell scripts: the package's maintainer scripts and ours -------------------------
scripts="packaging/deb/postinst packaging/deb/postrm scripts/test-ops.sh scripts/install-deps.sh scripts/install-test-deps.sh"
for f in $scripts; do
    sh -n "$f" || fail "sh -n $f"
done
if have shellcheck; then
    # shellcheck disable=SC2086 # a word list
    shellcheck --shell=sh --severity=style $scripts || fail "shellcheck"
fi
for f in packaging/deb/postinst packaging/deb/postrm; do
    [ -x "$f" ] || fail "$f is not executable"
    grep -q '^#DEBHELPER#$' "$f" || fail "$f lacks the #DEBHELPER# line cargo-deb fills in"
done

# --- systemd unit -------------------------------------------------------------------
if have systemd-analyze; then
    # verify needs ExecStart's program to exist: point it at a stand-in.
    printf '#!/bin/sh\n' >"$tmp/jobber" && chmod +x "$tmp/jobber"
    sed "s|/usr/bin/jobber|$tmp/jobber|" systemd/jobber.service >"$tmp/jobber.service"
    # It warns (unknown keys, bad values) on stderr and still exits 0: any output fails.
    out=$(systemd-analyze verify "$tmp/jobber.service" 2>&1) || fail "systemd-analyze verify: $out"
    [ -z "$out" ] || fail "systemd-analyze verify systemd/jobber.service:
$out"
    # The hardening keeps its score (1.8 today; 0 is best, 10 worst), where this
    # systemd can rate a unit file offline (252 and newer).
    if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
        systemd-analyze security --offline=true --threshold=25 "$tmp/jobber.service" >/dev/null 2>&1 ||
            fail "systemd-analyze security: the unit's exposure rose above 2.5 (run it to see why)"
    fi
fi
for key in 'User=jobber' 'StateDirectory=jobber' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
    'ProtectHome=yes' 'PrivateTmp=yes' 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' \
    'AmbientCapabilities=CAP_NET_BIND_SERVICE' 'Restart=on-failure'; do
    grep -qx "$key" systemd/jobber.service || fail "systemd/jobber.service lacks $key"
done

# --- Python checks: the .deb metadata, the chart's values against its schema --------
if [ -x "$python" ] && "$python" -c 'import yamllint, jsonschema' 2>/dev/null; then
    cargo metadata --no-deps --format-version 1 --offline >"$tmp/metadata.json" ||
        fail "cargo metadata"
    "$python" - "$tmp/metadata.json" <<'PY' || fail "packaging metadata ([package.metadata.deb] in Cargo.toml)"
import json, os, sys
meta = json.load(open(sys.argv[1]))
deb = next(p for p in meta["packages"] if p["name"] == "jobber")["metadata"]["deb"]
problems = []
for key in ("maintainer", "depends", "assets", "maintainer-scripts", "systemd-units", "conf-files"):
    if key not in deb:
        problems.append(f"no {key}")
for source, dest, mode in deb.get("assets", []):
    if not source.startswith("target/") and not os.path.exists(source):
        problems.append(f"asset {source} does not exist")
    if not 0 < int(mode, 8) <= 0o755:
        problems.append(f"asset {source}: mode {mode}")
if ["target/release/jobber", "usr/bin/", "755"] not in deb.get("assets", []):
    problems.append("the binary is not installed as /usr/bin/jobber")
dests = ["/" + d for _, d, _ in deb.get("assets", [])]
for conf in deb.get("conf-files", []):
    if conf not in dests:
        problems.append(f"conf-file {conf} is not an asset")
scripts = deb.get("maintainer-scripts", "")
for name in ("postinst", "postrm"):
    if not os.path.exists(os.path.join(scripts, name)):
        problems.append(f"no {name} in {scripts}")
units = deb.get("systemd-units", {})
unit = os.path.join(units.get("unit-scripts", ""), units.get("unit-name", "") + ".service")
if not os.path.exists(unit):
    problems.append(f"systemd unit {unit} does not exist")
if not (units.get("enable") and units.get("start")):
    problems.append("the unit is not enabled and started")
postinst = open(os.path.join(scripts, "postinst")).read()
for needle in ("adduser --system", "/var/lib/jobber", "/etc/jobber"):
    if needle not in postinst:
        problems.append(f"postinst does not mention {needle!r}")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
PY

    "$python" -m yamllint --strict -c helm/.yamllint "$chart/Chart.yaml" "$chart/values.yaml" \
        "$chart/ci" "$chart/rules" || fail "yamllint $chart"

    "$python" - "$chart" <<'PY' || fail "values.yaml against values.schema.json"
import copy, json, sys
import jsonschema, yaml
chart = sys.argv[1]
schema = json.load(open(f"{chart}/values.schema.json"))
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)
defaults = yaml.safe_load(open(f"{chart}/values.yaml"))
def merge(base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
ok = True
def check(name, values, valid):
    global ok
    errors = sorted(validator.iter_errors(values), key=lambda e: list(e.path))
    if valid and errors:
        ok = False
        for e in errors:
            print(f"{name}: {'.'.join(map(str, e.path))}: {e.message}", file=sys.stderr)
    if not valid and not errors:
        ok = False
        print(f"{name}: accepted, but the schema should refuse it", file=sys.stderr)
check("values.yaml", defaults, True)
real = merge(defaults, yaml.safe_load(open(f"{chart}/ci/test-values.yaml")))
check("values.yaml + ci/test-values.yaml", real, True)
for name, over in [
    ("a typo'd key", {"api": {"replicaz": 3}}),
    ("replicas as text", {"api": {"replicas": "two"}}),
    ("an unknown log format", {"log": {"format": "xml"}}),
    ("a storage URL that is not S3", {"storage": {"url": "gs://bucket"}}),
    ("a database URL that is not PostgreSQL", {"database": {"url": "mysql://x"}}),
    ("CPU target above 100%", {"api": {"autoscaling": {"targetCPUUtilizationPercentage": 170}}}),
    ("an extraEnv that is not JOBBER_*", {"extraEnv": {"PATH": "/tmp"}}),
    ("a JWT secret under 32 characters", {"secrets": {"jwtSecret": "short"}}),
    ("an encryption key YAML read as a number", {"secrets": {"encryptionKey": 0}}),
    ("an OTLP endpoint without its scheme", {"log": {"otlpEndpoint": "collector:4318"}}),
    ("a trusted proxy by host name", {"trustedProxies": ["alb.internal"]}),
    ("trusted proxies as one string", {"trustedProxies": "10.0.0.0/8"}),
    ("an admin token under 32 characters", {"secrets": {"adminToken": "short"}}),
    ("an admin token Secret without its key", {"secrets": {"adminTokenSecret": {"name": "jobber-admin", "key": ""}}}),
    ("an admin token Secret named with capitals", {"secrets": {"adminTokenSecret": {"name": "Jobber_Admin", "key": "token"}}}),
]:
    check(name, merge(real, over), False)
sys.exit(0 if ok else 1)
PY
else
    if [ "${CI:-}" = "true" ]; then
        fail "$python lacks yamllint or jsonschema (scripts/install-test-deps.sh installs them)"
    else
        say "SKIPPED: packaging metadata, yamllint and the values schema ($python lacks yamllint/jsonschema; sh scripts/install-test-deps.sh)"
    fi
fi

# --- alert rules --------------------------------------------------------------------
if have promtool; then
    promtool check rules "$chart/rules/alerts.yaml" >/dev/null || fail "promtool check rules"
    promtool test rules "$chart/rules/alerts.test.yaml" >/dev/null || fail "promtool test rules"
    # Every metric an alert reads is one jobber exports (docs/operations.md, "Metrics").
    grep -o 'jobber_[a-z_]*' "$chart/rules/alerts.yaml" | sed 's/_bucket$//' | sort -u >"$tmp/metrics"
    while read -r metric; do
        grep -q "| \`$metric\` |" docs/operations.md ||
            fail "alerts.yaml reads $metric, which docs/operations.md's metrics table does not list"
    done <"$tmp/metrics"
fi

# --- Dockerfile essentials (hadolint is not required) ---------------------------------
for key in '^USER 10001' '^VOLUME \["/var/lib/jobber"\]' '^EXPOSE 8080' '^HEALTHCHECK' 'readyz' \
    '^FROM .* AS ui$' '^FROM .* AS build$' '^FROM debian:.*-slim$'; do
    grep -q "$key" Dockerfile || fail "Dockerfile lacks $key"
done

# --- Helm templates, where helm is installed ------------------------------------------
if command -v helm >/dev/null 2>&1; then
    helm lint --strict "$chart" -f "$chart/ci/test-values.yaml" >/dev/null || fail "helm lint"
    helm template jobber "$chart" -f "$chart/ci/test-values.yaml" >"$tmp/rendered.yaml" ||
        fail "helm template"
    if [ -x "$python" ]; then
        "$python" -m yamllint -d '{extends: relaxed, rules: {line-length: disable}}' "$tmp/rendered.yaml" ||
            fail "the rendered chart is not valid YAML"
    fi
else
    say "helm is not installed: the chart's templates were not rendered (helm lint and helm template run where it is)"
fi

if [ "$failed" -ne 0 ]; then
    say "some checks failed"
    exit 1
fi
say "ok"
