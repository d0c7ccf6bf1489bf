#!/usr/bin/python3
"""Checks the Kubernetes base in deploy/k8s as `kubectl kustomize` renders it.

    check_manifests.py RENDERED_YAML REPOSITORY_ROOT

The checks compare the manifests with each other (selectors, port names,
object references) and with the repository: the image's user in the
Dockerfile, the environment variables that src/config reads, and the Secret
template deploy/k8s/secret.example.yaml. Prints one line per check and exits
with 1 when any fails.
"""

import pathlib
import re
import sys

import yaml

results = []


def check(name, condition, detail=""):
    results.append(bool(condition))
    line = f"{'ok' if condition else 'FAILED'}: {name}"
    if not condition and detail:
        line += f" ({detail})"
    print(line)


def selects(selector, labels):
    """Whether a matchLabels selector selects an object with these labels."""
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def image_user(root):
    """Returns (uid, gid) of the last USER line of the Dockerfile."""
    users = re.findall(r"^USER\s+(\d+):(\d+)\s*$", (root / "Dockerfile").read_text(), re.MULTILINE)
    if not users:
        raise SystemExit("Dockerfile has no numeric USER uid:gid line")
    return int(users[-1][0]), int(users[-1][1])


def app_variables(root):
    """Returns the environment variable names that src/config reads."""
    names = set()
    for source in (root / "src" / "config").glob("*.cpp"):
        names.update(re.findall(r'\.get(?:_string|_int|_bool)?\(\s*"([A-Z][A-Z0-9_]*)"', source.read_text()))
    if not names:
        raise SystemExit("found no environment variable names in src/config")
    return names


def ports_of(container):
    return {port["name"]: port["containerPort"] for port in container.get("ports", []) if "name" in port}


def policy_ports(policies, labels, direction):
    """Returns the (protocol, port) pairs that policies open for pods with these labels."""
    rule_key = "ingress" if direction == "Ingress" else "egress"
    opened = set()
    for policy in policies:
        spec = policy["spec"]
        if direction not in spec.get("policyTypes", []):
            continue
        if not selects(spec["podSelector"].get("matchLabels", {}), labels):
            continue
        for rule in spec.get(rule_key, []):
            for port in rule.get("ports", []):
                opened.add((port.get("protocol", "TCP"), port["port"]))
    return opened


def check_deployment(deployment, context):
    name = deployment["metadata"]["name"]
    spec = deployment["spec"]
    pod = spec["template"]
    labels = pod["metadata"]["labels"]
    pod_spec = pod["spec"]
    containers = pod_spec["containers"]
    check(f"{name}: one container", len(containers) == 1, f"{len(containers)} containers")
    container = containers[0]
    binary = context["binaries"][name]
    ports = ports_of(container)

    check(f"{name}: selector matches its pods", selects(spec["selector"]["matchLabels"], labels))
    check(f"{name}: pods are part-of todo", labels.get("app.kubernetes.io/part-of") == "todo")
    check(f"{name}: at least two replicas", spec.get("replicas", 1) >= 2, f"replicas {spec.get('replicas', 1)}")
    check(f"{name}: runs the todo image", container["image"].split(":")[0] == "todo", container["image"])
    check(f"{name}: runs {binary}", container.get("command") == [binary], container.get("command"))

    resources = container.get("resources", {})
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            check(f"{name}: {kind}.{resource} set", resource in resources.get(kind, {}))

    probes = context["probes"][name]
    for probe_name, path in probes.items():
        probe = container.get(probe_name, {}).get("httpGet", {})
        check(f"{name}: {probe_name} on {path}", probe.get("path") == path, probe.get("path"))
        check(f"{name}: {probe_name} port is a container port", probe.get("port") in ports, probe.get("port"))

    # Both binaries listen only after PostgreSQL accepts connections, so the
    # startup probe has to outlast a short database outage.
    startup = container.get("startupProbe", {})
    startup_seconds = startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)
    minimum = context["startup_seconds"]
    check(f"{name}: startupProbe waits at least {minimum} s", startup_seconds >= minimum, f"{startup_seconds} s")

    security = dict(pod_spec.get("securityContext", {}))
    security.update(container.get("securityContext", {}))
    uid, gid = context["user"]
    check(f"{name}: runAsNonRoot", security.get("runAsNonRoot") is True)
    check(f"{name}: runAsUser is the image's uid {uid}", security.get("runAsUser") == uid, security.get("runAsUser"))
    check(f"{name}: runAsGroup is the image's gid {gid}", security.get("runAsGroup") == gid, security.get("runAsGroup"))
    check(f"{name}: read-only root filesystem", security.get("readOnlyRootFilesystem") is True)
    check(f"{name}: no privilege escalation", security.get("allowPrivilegeEscalation") is False)
    check(f"{name}: drops all capabilities", security.get("capabilities", {}).get("drop") == ["ALL"])
    check(f"{name}: RuntimeDefault seccomp profile",
          security.get("seccompProfile", {}).get("type") == "RuntimeDefault")
    check(f"{name}: no service account token", pod_spec.get("automountServiceAccountToken") is False)

    volumes = {volume["name"]: volume for volume in pod_spec.get("volumes", [])}
    tmp_mounts = [mount for mount in container.get("volumeMounts", []) if mount["mountPath"] == "/tmp"]
    check(f"{name}: writable /tmp from an emptyDir",
          len(tmp_mounts) == 1 and "emptyDir" in volumes.get(tmp_mounts[0]["name"], {}))

    env_names = {variable["name"] for variable in container.get("env", [])}
    config_map_names = [source["configMapRef"]["name"] for source in container.get("envFrom", []) if "configMapRef" in source]
    secret_names = [source["secretRef"]["name"] for source in container.get("envFrom", []) if "secretRef" in source]
    check(f"{name}: reads a ConfigMap of the base",
          len(config_map_names) == 1 and config_map_names[0] in context["config_maps"], config_map_names)
    check(f"{name}: reads the Secret of secret.example.yaml",
          secret_names == [context["secret"]["metadata"]["name"]], secret_names)
    unknown = env_names - context["variables"]
    check(f"{name}: env names are read by the service", not unknown, sorted(unknown))

    annotations = pod["metadata"].get("annotations", {})
    check(f"{name}: prometheus.io/scrape", annotations.get("prometheus.io/scrape") == "true")
    check(f"{name}: prometheus.io/path is /metrics", annotations.get("prometheus.io/path") == "/metrics")
    check(f"{name}: prometheus.io/port is a container port",
          annotations.get("prometheus.io/port") in {str(port) for port in ports.values()},
          annotations.get("prometheus.io/port"))

    # A preStop pause comes first. Then the service drains for
    # SHUTDOWN_TIMEOUT_S, and the span exporter flushes for up to 5 s.
    config = context["config_maps"].get(config_map_names[0] if config_map_names else "", {})
    shutdown = int(config.get("data", {}).get("SHUTDOWN_TIMEOUT_S", "8"))
    pause = 0
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    if len(pre_stop) == 2 and pre_stop[0] == "sleep":
        pause = int(pre_stop[1])
    grace = pod_spec.get("terminationGracePeriodSeconds", 30)
    check(f"{name}: grace period covers preStop, drain and flush", grace > pause + shutdown + 5,
          f"{grace} s for {pause} + {shutdown} + 5 s")
    return labels, ports


def main():
    rendered_path, root = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    documents = [document for document in yaml.safe_load_all(rendered_path.read_text()) if document]
    objects = {}
    for document in documents:
        objects.setdefault(document["kind"], {})[document["metadata"]["name"]] = document

    secret = yaml.safe_load((root / "deploy" / "k8s" / "secret.example.yaml").read_text())
    variables = app_variables(root)
    context = {
        "user": image_user(root),
        "variables": variables,
        "secret": secret,
        "config_maps": objects.get("ConfigMap", {}),
        "binaries": {"todo-web": "todo-web", "todo-worker": "todo-worker"},
        "startup_seconds": 300,
        "probes": {
            "todo-web": {"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"},
            "todo-worker": {"livenessProbe": "/healthz", "readinessProbe": "/healthz", "startupProbe": "/healthz"},
        },
    }

    deployments = objects.get("Deployment", {})
    check("Deployments todo-web and todo-worker", set(deployments) == {"todo-web", "todo-worker"}, sorted(deployments))
    check("no Secret in the base", "Secret" not in objects, sorted(objects.get("Secret", {})))
    check("one ConfigMap, named with a content hash",
          len(context["config_maps"]) == 1 and all(name.startswith("todo-config-") for name in context["config_maps"]),
          sorted(context["config_maps"]))
    for config_map in context["config_maps"].values():
        unknown = set(config_map.get("data", {})) - variables
        check("ConfigMap keys are read by the service", not unknown, sorted(unknown))
    unknown = set(secret.get("stringData", {})) - variables
    check("Secret template keys are read by the service", not unknown, sorted(unknown))
    check("Secret template has DATABASE_URL and REDIS_URL",
          {"DATABASE_URL", "REDIS_URL"} <= set(secret.get("stringData", {})))

    pods = {}
    for name in sorted(deployments):
        pods[name] = check_deployment(deployments[name], context)

    services = objects.get("Service", {})
    check("Services todo-web and todo-worker", set(services) == {"todo-web", "todo-worker"}, sorted(services))
    for name, service in sorted(services.items()):
        selected = [pod for pod, (labels, _) in pods.items() if selects(service["spec"]["selector"], labels)]
        check(f"Service {name} selects only {name} pods", selected == [name], selected)
        if selected == [name]:
            _, ports = pods[name]
            for port in service["spec"]["ports"]:
                check(f"Service {name}: targetPort {port['targetPort']} is a container port",
                      port["targetPort"] in ports)

    budgets = objects.get("PodDisruptionBudget", {})
    check("PodDisruptionBudgets for both", set(budgets) == {"todo-web", "todo-worker"}, sorted(budgets))
    for name, budget in sorted(budgets.items()):
        selected = [pod for pod, (labels, _) in pods.items() if selects(budget["spec"]["selector"]["matchLabels"], labels)]
        check(f"PodDisruptionBudget {name} selects only {name} pods", selected == [name], selected)
        replicas = deployments.get(name, {}).get("spec", {}).get("replicas", 1)
        minimum = budget["spec"].get("minAvailable", 0)
        check(f"PodDisruptionBudget {name} lets a drain evict a pod", minimum < replicas,
              f"minAvailable {minimum}, replicas {replicas}")

    autoscalers = objects.get("HorizontalPodAutoscaler", {})
    check("HorizontalPodAutoscaler for todo-web only", set(autoscalers) == {"todo-web"}, sorted(autoscalers))
    for name, autoscaler in autoscalers.items():
        spec = autoscaler["spec"]
        target = spec["scaleTargetRef"]
        check(f"HorizontalPodAutoscaler {name} scales Deployment todo-web",
              target["kind"] == "Deployment" and target["name"] == "todo-web", target)
        check(f"HorizontalPodAutoscaler {name}: minReplicas at most maxReplicas",
              1 <= spec["minReplicas"] <= spec["maxReplicas"])
        web_budget = budgets.get("todo-web", {}).get("spec", {}).get("minAvailable", 0)
        check(f"HorizontalPodAutoscaler {name}: minReplicas above the budget's minAvailable",
              spec["minReplicas"] > web_budget)
        cpu_metrics = [metric for metric in spec.get("metrics", [])
                       if metric.get("type") == "Resource" and metric["resource"]["name"] == "cpu"]
        check(f"HorizontalPodAutoscaler {name} scales on CPU utilization",
              len(cpu_metrics) == 1 and cpu_metrics[0]["resource"]["target"]["type"] == "Utilization")

    policies = list(objects.get("NetworkPolicy", {}).values())
    deny_all = [policy for policy in policies
                if policy["spec"]["podSelector"].get("matchLabels") == {"app.kubernetes.io/part-of": "todo"}
                and set(policy["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
                and not policy["spec"].get("ingress") and not policy["spec"].get("egress")]
    check("NetworkPolicy denies all traffic of todo pods by default", len(deny_all) == 1)
    expected_ingress = {"todo-web": {("TCP", 5000)}, "todo-worker": {("TCP", 9100)}}
    expected_egress = {("UDP", 53), ("TCP", 53), ("TCP", 5432), ("TCP", 6379), ("TCP", 4318)}
    for name, (labels, ports) in sorted(pods.items()):
        ingress = policy_ports(policies, labels, "Ingress")
        check(f"NetworkPolicy: {name} accepts only ports {sorted(expected_ingress[name])}",
              ingress == expected_ingress[name], sorted(ingress))
        check(f"NetworkPolicy: {name} accepts nothing on ports it does not serve",
              {port for _, port in ingress} <= set(ports.values()), sorted(ingress))
        egress = policy_ports(policies, labels, "Egress")
        check(f"NetworkPolicy: {name} reaches only DNS, PostgreSQL, Redis and OTLP",
              egress == expected_egress, sorted(egress))
    front = [policy for policy in policies
             if selects(policy["spec"]["podSelector"].get("matchLabels", {}), pods.get("todo-worker", ({}, {}))[0])
             and any("ingress-nginx" in str(rule) for rule in policy["spec"].get("ingress", []))]
    check("NetworkPolicy: the ingress controller cannot reach todo-worker", not front,
          [policy["metadata"]["name"] for policy in front])

    failed = results.count(False)
    print(f"{len(results) - failed} of {len(results)} manifest checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
