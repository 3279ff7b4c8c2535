package integration

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// runOtrace runs argv (otrace, possibly behind setpriv) to completion,
// bounded by exitTimeout, and returns its exit code, stdout and stderr.
func runOtrace(t *testing.T, dir, name string, argv ...string) (int, string, string) {
	t.Helper()
	p := startProc(t, dir, name, nil, argv[0], argv[1:]...)
	code := p.waitExit(t, exitTimeout)
	return code, p.stdout(), p.stderr()
}

// TestBadInput: every refusal has its contract exit code, says why on
// stderr in an "otrace: ..." line, prints nothing on stdout and does not
// hang.
func TestBadInput(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	target, _ := startFixture(t, dir, fx)
	pid := strconv.Itoa(target.pid())

	sleeper := startProc(t, dir, "sleep", nil, "sleep", "30")

	notExec := filepath.Join(dir, "httpserver-noexec")
	copyFile(t, fx.path, notExec, 0o644) // a fine Go net/http binary, but no x bit

	endpoint := []string{"--otlp-endpoint", "http://127.0.0.1:4318", "-p", pid}
	cases := []struct {
		name string
		args []string
		code int
		env  []string // NAME=VALUE
	}{
		{"no such pid", []string{"-p", strconv.Itoa(freePid(t))}, 3, nil},
		{"pid of a non-Go process", []string{"-p", strconv.Itoa(sleeper.pid())}, 4, nil},
		{"Go program without net/http", []string{"--exec", noHTTPProgram(t)}, 5, nil},
		{"exec nonexistent path", []string{"--exec", "/nonexistent"}, 6, nil},
		{"exec name found nowhere", []string{"--exec", "otrace-no-such-program-4711"}, 6, nil},
		{"exec file without x bit", []string{"--exec", notExec}, 7, nil},
		{"unwritable output", []string{"-o", "/proc/nonexistent/x", "-p", pid}, 9, nil},
		{"no arguments", nil, 2, nil},
		{"unknown option", []string{"--no-such-option", "-p", pid}, 2, nil},
		{"pid not a number", []string{"-p", "twelve"}, 2, nil},
		{"list-probes without target", []string{"--list-probes"}, 2, nil},
		{"resource without a value", []string{"--resource", "team", "-p", pid}, 2, nil},
		{"endpoint without a scheme", []string{"--otlp-endpoint", "localhost:4318", "-p", pid}, 11, nil},
		{"endpoint variable not a URL", []string{"-p", pid}, 11,
			[]string{"OTEL_EXPORTER_OTLP_ENDPOINT=collector:4318"}},
		{"unknown protocol", endpoint, 11, []string{"OTEL_EXPORTER_OTLP_PROTOCOL=http/xml"}},
		{"grpc protocol", endpoint, 11, []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc"}},
		{"unknown compression", endpoint, 11, []string{"OTEL_EXPORTER_OTLP_COMPRESSION=br"}},
		{"timeout not in milliseconds", endpoint, 11, []string{"OTEL_EXPORTER_OTLP_TIMEOUT=10s"}},
		{"malformed headers", endpoint, 11, []string{"OTEL_EXPORTER_OTLP_HEADERS=api-key"}},
		{"header value with a newline", endpoint, 11, []string{"OTEL_EXPORTER_OTLP_HEADERS=a=b%0AHost: x"}},
		{"unreadable certificate", []string{"--otlp-endpoint", "https://127.0.0.1:4318", "-p", pid}, 11,
			[]string{"OTEL_EXPORTER_OTLP_CERTIFICATE=/nonexistent/ca.pem"}},
		{"certificate file without a certificate", []string{"--otlp-endpoint", "https://127.0.0.1:4318", "-p", pid}, 11,
			[]string{"OTEL_EXPORTER_OTLP_CERTIFICATE=" + fx.path}},
		{"client certificate without its key", []string{"--otlp-endpoint", "https://127.0.0.1:4318", "-p", pid}, 11,
			[]string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=" + fx.path}},
		{"malformed resource attributes", []string{"-p", pid}, 11, []string{"OTEL_RESOURCE_ATTRIBUTES=team=a,b%zz=c"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, kv := range tc.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			code, stdout, stderr := runOtrace(t, dir, fmt.Sprintf("otrace-bad%d", i), append([]string{bin}, tc.args...)...)
			checkRefusal(t, "otrace "+strings.Join(tc.args, " "), code, stdout, stderr, tc.code)
		})
	}
	if target.exited() {
		t.Errorf("fixture exited (%v) during the refusals", target.state)
	}
}

// checkRefusal checks one failed run against the contract.
func checkRefusal(t *testing.T, cmdline string, code int, stdout, stderr string, want int) {
	t.Helper()
	t.Logf("%s -> exit %d, stderr:\n%s", cmdline, code, stderr)
	if code != want {
		t.Errorf("exit code %d, want %d", code, want)
	}
	if !hasLinePrefix(stderr, "otrace:") {
		t.Errorf("stderr has no line starting with \"otrace:\" that explains the failure")
	}
	if stdout != "" {
		t.Errorf("stdout must stay empty on failure, got %q", clip(stdout, 500))
	}
}

// TestNotRoot: without CAP_BPF/CAP_PERFMON otrace exits 8 and names the
// capability it lacks.
func TestNotRoot(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t) // to be able to drop privileges at all
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	fx := fixture(t)
	dir := t.TempDir()
	target, _ := startFixture(t, dir, fx)

	drop := []string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"}
	// The binary may live where nobody cannot reach it (e.g. under /root);
	// that would test the file system, not otrace.
	if out, err := exec.Command(drop[0], append(drop[1:], "test", "-x", bin)...).CombinedOutput(); err != nil {
		t.Skipf("uid 65534 cannot execute %s (%v %s); build otrace in a world-accessible directory", bin, err, out)
	}
	args := append(drop, bin, "-p", strconv.Itoa(target.pid()))
	code, stdout, stderr := runOtrace(t, dir, "otrace-nobody", args...)
	checkRefusal(t, strings.Join(args, " "), code, stdout, stderr, 8)
	if !strings.Contains(stderr, "CAP_BPF") && !strings.Contains(stderr, "CAP_PERFMON") {
		t.Errorf("stderr does not name the missing capability (CAP_BPF or CAP_PERFMON)")
	}
}

// TestHelpVersion: the informational options succeed on stdout.
func TestHelpVersion(t *testing.T) {
	bin := otraceBin(t)
	dir := t.TempDir()
	for i, opt := range []string{"--help", "-h"} {
		code, stdout, stderr := runOtrace(t, dir, fmt.Sprintf("otrace-help%d", i), bin, opt)
		if code != 0 {
			t.Errorf("%s: exit %d, want 0; stderr: %s", opt, code, stderr)
		}
		for _, want := range []string{"otrace", "-p", "--exec", "--list-probes", "--output", "--service-name"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: usage on stdout does not mention %q:\n%s", opt, want, stdout)
			}
		}
	}
	versionRE := regexp.MustCompile(`^otrace \S+\n?$`)
	for i, opt := range []string{"--version", "-V"} {
		code, stdout, stderr := runOtrace(t, dir, fmt.Sprintf("otrace-version%d", i), bin, opt)
		if code != 0 {
			t.Errorf("%s: exit %d, want 0; stderr: %s", opt, code, stderr)
		}
		if !versionRE.MatchString(stdout) {
			t.Errorf("%s: stdout %q, want \"otrace VERSION\"", opt, stdout)
		}
	}
}

// TestListProbes: the probe plan is one JSON document on stdout, for a
// binary and for a running process alike, and every probe is on an
// instruction the kernel emulates (no single-stepping).
func TestListProbes(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	target, _ := startFixture(t, dir, fx)

	for i, args := range [][]string{
		{"--list-probes", fx.path},
		{"--list-probes", "-p", strconv.Itoa(target.pid())},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := runOtrace(t, dir, fmt.Sprintf("otrace-list%d", i), append([]string{bin}, args...)...)
			if code != 0 {
				t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
			}
			checkProbePlan(t, stdout, fx)
		})
	}
}

func checkProbePlan(t *testing.T, stdout string, fx fixtureInfo) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.UseNumber()
	var plan map[string]any
	if err := dec.Decode(&plan); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, clip(stdout, 2000))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Errorf("stdout holds more than one JSON document")
	}
	defer func() {
		if t.Failed() {
			t.Logf("probe plan:\n%s", clip(stdout, 8000))
		}
	}()

	// goVersion: with or without the "go" prefix of runtime.Version().
	if v, _ := plan["goVersion"].(string); strings.TrimPrefix(v, "go") != strings.TrimPrefix(fx.goVersion, "go") {
		t.Errorf("goVersion = %#v, want %q", plan["goVersion"], fx.goVersion)
	}
	if _, ok := plan["modules"].([]any); !ok {
		t.Errorf("modules = %#v, want an array", plan["modules"])
	}

	probes, ok := plan["probes"].([]any)
	if !ok || len(probes) == 0 {
		t.Fatalf("probes = %#v, want a non-empty array", plan["probes"])
	}
	sawHTTP := false
	for i, p := range probes {
		obj, ok := p.(map[string]any)
		if !ok {
			t.Errorf("probes[%d] = %#v, want an object", i, p)
			continue
		}
		sym, _ := obj["symbol"].(string)
		if sym == "" {
			t.Errorf("probes[%d].symbol = %#v, want a symbol name", i, obj["symbol"])
		}
		sawHTTP = sawHTTP || strings.Contains(sym, "net/http")
		for _, k := range []string{"address", "fileOffset", "instruction"} {
			if v, ok := obj[k]; !ok || v == nil || v == "" {
				t.Errorf("probes[%d] (%s).%s missing", i, sym, k)
			}
		}
		if obj["emulated"] != true {
			t.Errorf("probes[%d] (%s).emulated = %#v, want true", i, sym, obj["emulated"])
		}
	}
	if !sawHTTP {
		t.Errorf("no probe on a net/http symbol")
	}

	fields, ok := plan["fields"].([]any)
	if !ok || len(fields) == 0 {
		t.Fatalf("fields = %#v, want a non-empty array", plan["fields"])
	}
	for i, f := range fields {
		obj, ok := f.(map[string]any)
		if !ok {
			t.Errorf("fields[%d] = %#v, want an object", i, f)
			continue
		}
		for _, k := range []string{"struct", "field"} {
			if s, _ := obj[k].(string); s == "" {
				t.Errorf("fields[%d].%s = %#v, want a non-empty string", i, k, obj[k])
			}
		}
		// A field this Go version lacks (Request.Pattern before 1.23) is
		// listed with offset -1 and no source; a present one says where
		// its offset came from.
		n, ok := obj["offset"].(json.Number)
		off, err := n.Int64()
		switch {
		case !ok || err != nil || off < -1:
			t.Errorf("fields[%d].offset = %#v, want an integer >= 0, or -1 for an absent field", i, obj["offset"])
		case off >= 0:
			if s, _ := obj["source"].(string); s == "" {
				t.Errorf("fields[%d].source = %#v, want a non-empty string", i, obj["source"])
			}
		}
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode is filtered by the umask; set it exactly.
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatal(err)
	}
}
