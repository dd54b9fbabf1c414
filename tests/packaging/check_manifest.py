#!/usr/bin/env python3
"""Validates the Kubernetes manifest: YAML, the objects and the fields the
README names (privileged, the host paths it mounts), and that the README's
Kubernetes section names each host path the DaemonSet mounts read-write.
Prints one PASS/FAIL line per check."""
import re
import sys

import yaml

manifest_path, readme_path = sys.argv[1], sys.argv[2]
prefix = sys.argv[3] if len(sys.argv) > 3 else "k8s"
failures = 0


def check(name, ok, detail=""):
    global failures
    print(f"{'PASS' if ok else 'FAIL'} {prefix}/{name}{'' if ok else ': ' + detail}")
    failures += 0 if ok else 1


with open(manifest_path) as f:
    docs = [d for d in yaml.safe_load_all(f) if d]
kinds = {d.get("kind"): d for d in docs}
check("manifest-is-yaml-with-namespace-and-daemonset",
      set(kinds) == {"Namespace", "DaemonSet"}, f"kinds: {sorted(map(str, kinds))}")
ds = kinds.get("DaemonSet", {})
spec = ds.get("spec", {})
pod = spec.get("template", {}).get("spec", {})
labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
check("selector-matches-template-labels",
      spec.get("selector", {}).get("matchLabels", {}).items() <= labels.items() and bool(labels))
check("namespace-is-the-manifests", ds.get("metadata", {}).get("namespace")
      == kinds.get("Namespace", {}).get("metadata", {}).get("name"))
containers = pod.get("containers", [])
check("one-container", len(containers) == 1)
container = containers[0] if containers else {}
check("privileged", container.get("securityContext", {}).get("privileged") is True)
check("runs-on-every-node", {"operator": "Exists"} in pod.get("tolerations", []))

volumes = {v["name"]: v.get("hostPath", {}).get("path") for v in pod.get("volumes", [])}
mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
check("every-mount-has-a-volume", set(mounts) <= set(volumes),
      f"mounts without volume: {set(mounts) - set(volumes)}")
wanted = {
    "/sys/fs/bpf": "/sys/fs/bpf",
    "/usr/libexec/oci/hooks.d": "/host/usr/libexec/oci/hooks.d",
    "/usr/share/containers/oci/hooks.d": "/host/usr/share/containers/oci/hooks.d",
    "/usr/share/cgfence": "/host/usr/share/cgfence",
    "/etc/cgfence": "/host/etc/cgfence",
}
by_path = {path: name for name, path in volumes.items()}
for host_path, mount_path in wanted.items():
    name = by_path.get(host_path)
    mount = mounts.get(name, {})
    check(f"mounts-{host_path}", mount.get("mountPath") == mount_path and not mount.get("readOnly"),
          f"volume {name!r} mounted as {mount!r}")
check("bpffs-propagates-to-the-host",
      mounts.get(by_path.get("/sys/fs/bpf"), {}).get("mountPropagation") == "Bidirectional")

with open(readme_path) as f:
    readme = f.read()
section = re.search(r"^### CRI-O and Kubernetes\n(.*?)(?=^#)", readme, re.S | re.M)
check("readme-has-a-kubernetes-section", section is not None)
text = section.group(1) if section else ""
for host_path in wanted:
    check(f"readme-names-{host_path}", f"`{host_path}`" in text)
check("readme-names-the-manifest", "packaging/kubernetes/cgfence-daemonset.yaml" in text)
sys.exit(1 if failures else 0)
