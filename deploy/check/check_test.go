// Package check validates deploy/kubernetes/daemonset.yaml against the
// Kubernetes API's own Go types (k8s.io/api), decoding strictly: a field the
// API does not have, or a value of the wrong type, fails. kubeconform would
// check the OpenAPI schema, but it downloads its schemas at run time, which
// this machine cannot. Then what otrace needs is checked field by field.
package check

import (
	"bytes"
	"os"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

func documents(t *testing.T) map[string][]byte {
	t.Helper()
	b, err := os.ReadFile("../kubernetes/daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := make(map[string][]byte)
	for _, d := range bytes.Split(b, []byte("\n---\n")) {
		var head struct{ Kind string }
		if err := yaml.Unmarshal(d, &head); err != nil {
			t.Fatalf("not YAML: %v", err)
		}
		docs[head.Kind] = d
	}
	return docs
}

func TestDaemonSet(t *testing.T) {
	docs := documents(t)
	var ns corev1.Namespace
	if err := yaml.UnmarshalStrict(docs["Namespace"], &ns); err != nil {
		t.Fatalf("Namespace: %v", err)
	}
	var ds appsv1.DaemonSet
	if err := yaml.UnmarshalStrict(docs["DaemonSet"], &ds); err != nil {
		t.Fatalf("DaemonSet: %v", err)
	}
	if ds.APIVersion != "apps/v1" || ds.Namespace != ns.Name {
		t.Errorf("DaemonSet %s in namespace %q, want apps/v1 in %q", ds.APIVersion, ds.Namespace, ns.Name)
	}
	sel := ds.Spec.Selector.MatchLabels
	for k, v := range sel {
		if ds.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod template's labels", k, v)
		}
	}
	pod := ds.Spec.Template.Spec
	if !pod.HostPID {
		t.Error("hostPID must be true: --all needs the host's PIDs")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if !strings.Contains(strings.Join(c.Command, " "), "--all") {
		t.Errorf("command %v does not run otrace --all", c.Command)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("the root filesystem must be read-only")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("privileged: the capabilities otrace needs are enough")
	}
	caps := map[corev1.Capability]bool{}
	for _, c := range sc.Capabilities.Add {
		caps[c] = true
	}
	for _, need := range []corev1.Capability{"BPF", "PERFMON", "SYS_ADMIN", "SYS_PTRACE"} {
		if !caps[need] {
			t.Errorf("capability %s missing (README, Requirements)", need)
		}
	}
	if len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("capabilities drop %v, want ALL", sc.Capabilities.Drop)
	}
	env := map[string]corev1.EnvVar{}
	var order []string
	for _, e := range c.Env {
		env[e.Name] = e
		order = append(order, e.Name)
	}
	if ip := env["NODE_IP"]; ip.ValueFrom == nil || ip.ValueFrom.FieldRef == nil || ip.ValueFrom.FieldRef.FieldPath != "status.hostIP" {
		t.Error("NODE_IP must come from the downward API's status.hostIP")
	}
	if ep := env["OTEL_EXPORTER_OTLP_ENDPOINT"].Value; ep != "http://$(NODE_IP):4318" {
		t.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT = %q, want the node's Collector", ep)
	}
	// $(VAR) expands only variables defined earlier in the list
	seen := map[string]bool{}
	for _, name := range order {
		for ref := range env {
			if strings.Contains(env[name].Value, "$("+ref+")") && !seen[ref] {
				t.Errorf("%s uses $(%s) before it is defined", name, ref)
			}
		}
		seen[name] = true
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	for _, path := range []string{"/sys/kernel/btf", "/sys/kernel/tracing", "/sys/fs/bpf"} {
		if m, ok := mounts[path]; !ok || !m.ReadOnly {
			t.Errorf("%s must be mounted read-only", path)
		}
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g < 60 {
		t.Error("terminationGracePeriodSeconds must leave time to remove the probes")
	}
}
