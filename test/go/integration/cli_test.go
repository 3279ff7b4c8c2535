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
	"syscall"
	"testing"
	"time"
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
	copyFile(t, fx.path, notExec, 0o644)                    // a fine Go net/http binary, but no x bit
	privateCopy := filepath.Join(dir, "httpserver-private") // in a 0700 directory of root's
	copyFile(t, fx.path, privateCopy, 0o755)

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
		{"list-probes of two files", []string{"--list-probes", fx.path, "-v", fx.path}, 2, nil},
		{"list-probes to an unwritable file", []string{"--list-probes", "-o", "/proc/nonexistent/x", fx.path}, 9, nil},
		{"user who does not exist", []string{"--user", "otrace-no-such-user-4711", "--exec", fx.path}, 2, nil},
		{"user without --exec", []string{"--user", "nobody", "-p", pid}, 2, nil},
		{"program the user cannot execute", []string{"--user", "nobody", "--exec", privateCopy}, 7, nil},
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
		{"--list-probes", fx.path, "-v"},
		{"--list-probes", "--", fx.path},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := runOtrace(t, dir, fmt.Sprintf("otrace-list%d", i), append([]string{bin}, args...)...)
			if code != 0 {
				t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
			}
			checkProbePlan(t, stdout, fx)
		})
	}
	t.Run("-o FILE", func(t *testing.T) {
		plan := filepath.Join(dir, "plan.json")
		code, stdout, stderr := runOtrace(t, dir, "otrace-list-o", bin, "--list-probes", "-o", plan, fx.path)
		if code != 0 {
			t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
		}
		if stdout != "" {
			t.Errorf("stdout must stay empty with -o, got %q", clip(stdout, 500))
		}
		checkProbePlan(t, readFileString(plan), fx)
	})
	t.Run("-o FILE over the file size limit", func(t *testing.T) {
		plan := filepath.Join(dir, "plan-limited.json")
		cmdline := fmt.Sprintf("ulimit -f 1 && exec %s --list-probes -o %s %s", bin, plan, fx.path)
		code, stdout, stderr := runOtrace(t, dir, "otrace-list-efbig", "sh", "-c", cmdline)
		checkRefusal(t, cmdline, code, stdout, stderr, 12)
		if !strings.Contains(stderr, "File too large") {
			t.Errorf("stderr does not name the error")
		}
	})
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

// TestVerboseOnce: -v says each thing once, with one process and a binary
// without DWARF (whose every library looks struct offsets up in the tables).
func TestVerboseOnce(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	noDWARF := filepath.Join(dir, "httpserver-nodwarf")
	if out, err := exec.Command("objcopy", "--strip-debug", fx.path, noDWARF).CombinedOutput(); err != nil {
		t.Fatalf("objcopy --strip-debug: %v\n%s", err, out)
	}
	target, _ := startFixtureNamed(t, dir, "fixture-nodwarf", noDWARF)
	otrace := attachPID(t, dir, bin, target.pid(), nil, "-v", "-o", filepath.Join(dir, "out.jsonl"))
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)
	seen := map[string]int{}
	for _, line := range strings.Split(otrace.stderr(), "\n") {
		if line != "" {
			seen[line]++
		}
	}
	for line, n := range seen {
		if n > 1 {
			t.Errorf("said %d times: %q", n, line)
		}
	}
	if countLines(otrace.stderr(), "no DWARF") != 1 {
		t.Errorf("-v must say once that the binary has no DWARF")
	}
}

// TestLoadFailureShown: when loading the BPF programs fails, libbpf's
// warnings and the verifier's log are on stderr without -v, followed by
// otrace's own line. The failure is made by a low limit on open files:
// first a map cannot be created, then, one limit at a time, a program.
func TestLoadFailureShown(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	target, _ := startFixture(t, dir, fx)
	sawLog := false
	for n := 12; n <= 48 && !sawLog; n++ {
		code, stdout, stderr := runOtrace(t, dir, fmt.Sprintf("otrace-nofile%d", n), "sh", "-c",
			fmt.Sprintf("ulimit -n %d && exec %s -p %d", n, bin, target.pid()))
		if code == 0 || strings.Contains(stderr, "attached") {
			break // the limit is high enough now
		}
		checkRefusal(t, fmt.Sprintf("ulimit -n %d; otrace -p", n), code, stdout, stderr, 1)
		if !strings.Contains(stderr, "otrace: libbpf: ") {
			t.Errorf("ulimit -n %d: libbpf's warnings are not shown", n)
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "otrace: failed to load BPF programs: ") {
			t.Errorf("ulimit -n %d: the last line is %q, want otrace's own reason", n, last)
		}
		sawLog = strings.Contains(stderr, "-- BEGIN PROG LOAD LOG --") &&
			strings.Contains(stderr, "-- END PROG LOAD LOG --")
	}
	if !sawLog {
		t.Errorf("no run showed the verifier's log of a program that failed to load")
	}
}

// TestStandardFds: otrace started with fd 0, 1 or 2 closed or read-only. A
// closed stderr must not make the -o file take diagnostics;
// a closed or read-only stdout is refused (exit 9) unless -o is given; a new
// -o file is created 0600 whatever the umask.
func TestStandardFds(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	target, port := startFixture(t, dir, fx)
	pid := strconv.Itoa(target.pid())

	for i, redirect := range []string{">&-", "1</dev/null"} {
		for j, args := range [][]string{{"-p", pid}, {"--list-probes", fx.path}} {
			name := fmt.Sprintf("otrace-stdout%d-%d", i, j)
			cmdline := fmt.Sprintf("exec %s %s %s", bin, strings.Join(args, " "), redirect)
			code, _, stderr := runOtrace(t, dir, name, "sh", "-c", cmdline)
			checkRefusal(t, cmdline, code, "", stderr, 9)
			if !strings.Contains(stderr, "standard output") {
				t.Errorf("%s: stderr does not say that standard output is unusable", cmdline)
			}
		}
	}

	out := filepath.Join(dir, "out.jsonl")
	// With fds 0 and 2 closed, the executable took fd 0 and the -o file fd
	// 2, which then received the diagnostics.
	cmdline := fmt.Sprintf("umask 0 && exec %s -p %s -o %s <&- 2>&-", bin, pid, out)
	otrace := startProc(t, dir, "otrace-nostderr", nil, "sh", "-c", cmdline)
	// Nothing tells us that the probes are in place: send requests until
	// spans arrive.
	client := newClient()
	var reqs []*request
	deadline := time.Now().Add(readyTimeout)
	for {
		r := newRequest("GET", "/hello", 200, "/hello")
		if err := send(client, port, r); err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, r)
		if st, err := os.Stat(out); err == nil && st.Size() > 0 {
			break
		}
		if otrace.exited() || time.Now().After(deadline) {
			t.Fatalf("no spans in %s (otrace %v)", out, otrace.state)
		}
		time.Sleep(200 * time.Millisecond)
	}
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("-o file created with mode %#o, want 0600", perm)
	}
	// Every line must be OTLP: a diagnostic in the file fails here.
	if spans := readOutput(t, out); len(spans) == 0 || len(spans) > len(reqs) {
		t.Errorf("%d spans for %d requests", len(spans), len(reqs))
	}
}

// worldDir makes a directory every user can use, for processes run as
// nobody (t.TempDir's are root's only), with a copy of the fixture in it.
func worldDir(t *testing.T, fx fixtureInfo) (dir, fixture string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "otrace-world-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	fixture = filepath.Join(dir, "httpserver")
	copyFile(t, fx.path, fixture, 0o755)
	return dir, fixture
}

// nobodyWithCaps is setpriv's command line running a program as nobody with
// these capabilities (e.g. "bpf,perfmon") effective.
func nobodyWithCaps(t *testing.T, caps string) []string {
	t.Helper()
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	argv := []string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"}
	if caps == "" {
		return append(argv, "--inh-caps=-all")
	}
	plus := "+" + strings.ReplaceAll(caps, ",", ",+")
	return append(argv, "--inh-caps="+plus, "--ambient-caps="+plus)
}

// TestCapabilities: what a user other than root needs, checked before
// anything is loaded. The kernel's uprobe PMU wants CAP_SYS_ADMIN since Linux
// 6.16 and the stable kernels of July 2025 (CAP_PERFMON was enough before),
// and another user's process wants CAP_SYS_PTRACE.
func TestCapabilities(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir, fixturePath := worldDir(t, fx)
	if out, err := exec.Command(nobodyWithCaps(t, "")[0], append(nobodyWithCaps(t, "")[1:], "test", "-x", bin)...).CombinedOutput(); err != nil {
		t.Skipf("uid 65534 cannot execute %s (%v %s); build otrace in a world-accessible directory", bin, err, out)
	}
	mine := startProc(t, dir, "fixture-nobody", nil, nobodyWithCaps(t, "")[0],
		append(nobodyWithCaps(t, "")[1:], fixturePath, "-portfile", filepath.Join(dir, "port"))...)
	port := waitPortFile(t, filepath.Join(dir, "port"), mine)
	nobodyPid := childOf(t, mine.pid())
	roots, _ := startFixtureNamed(t, dir, "fixture-root", fixturePath)

	t.Run("CAP_BPF+CAP_PERFMON", func(t *testing.T) {
		args := append(nobodyWithCaps(t, "bpf,perfmon"), bin, "-p", strconv.Itoa(nobodyPid), "-o", "/dev/null")
		p := startProc(t, dir, "otrace-perfmon", nil, args[0], args[1:]...)
		for !p.exited() && !strings.Contains(p.stderr(), "attached") {
			time.Sleep(50 * time.Millisecond)
		}
		if !p.exited() {
			t.Logf("this kernel lets CAP_PERFMON create uprobes: %s", p.stderr())
			return
		}
		code := p.waitExit(t, exitTimeout)
		checkRefusal(t, strings.Join(args, " "), code, p.stdout(), p.stderr(), 8)
		if !strings.Contains(p.stderr(), "CAP_SYS_ADMIN") {
			t.Errorf("stderr does not name CAP_SYS_ADMIN")
		}
		if strings.Contains(p.stderr(), "libbpf") {
			t.Errorf("otrace loaded BPF programs before finding out that it lacks a capability")
		}
	})
	t.Run("CAP_SYS_ADMIN, own process", func(t *testing.T) {
		out := filepath.Join(dir, "out.jsonl")
		args := append(nobodyWithCaps(t, "bpf,perfmon,sys_admin"), bin, "-p", strconv.Itoa(nobodyPid), "-o", out)
		p := startProc(t, dir, "otrace-sysadmin", nil, args[0], args[1:]...)
		p.waitStderrLine(t, "attached", readyTimeout)
		reqs := sendMixed(t, port, 5)
		p.signal(t, syscall.SIGINT)
		p.expectExit(t, exitTimeout, 0)
		spans := readOutput(t, out)
		checkServerSpans(t, spans, reqs, serverEnv{port: port, hasRoute: fx.hasRoute})
	})
	t.Run("CAP_SYS_ADMIN, root's process", func(t *testing.T) {
		args := append(nobodyWithCaps(t, "bpf,perfmon,sys_admin"), bin, "-p", strconv.Itoa(roots.pid()))
		code, stdout, stderr := runOtrace(t, dir, "otrace-noptrace", args...)
		checkRefusal(t, strings.Join(args, " "), code, stdout, stderr, 8)
		if !strings.Contains(stderr, "CAP_SYS_PTRACE") {
			t.Errorf("stderr does not name CAP_SYS_PTRACE")
		}
	})
	t.Run("--user without CAP_SETGID", func(t *testing.T) {
		args := append(nobodyWithCaps(t, "bpf,perfmon,sys_admin"), bin, "-o", "/dev/null",
			"--user", "nobody", "--exec", fixturePath, "-portfile", filepath.Join(dir, "port-user"))
		code, stdout, stderr := runOtrace(t, dir, "otrace-nosetgid", args...)
		checkRefusal(t, strings.Join(args, " "), code, stdout, stderr, 8)
		if !strings.Contains(stderr, "CAP_SETGID") {
			t.Errorf("stderr does not name CAP_SETGID")
		}
	})
	t.Run("CAP_SYS_PTRACE too, root's process", func(t *testing.T) {
		args := append(nobodyWithCaps(t, "bpf,perfmon,sys_admin,sys_ptrace"), bin, "-p", strconv.Itoa(roots.pid()), "-o", "/dev/null")
		p := startProc(t, dir, "otrace-ptrace", nil, args[0], args[1:]...)
		p.waitStderrLine(t, "attached", readyTimeout)
		p.signal(t, syscall.SIGINT)
		p.expectExit(t, exitTimeout, 0)
	})
}

// childOf returns the one child of pid (setpriv execs, but the fixture may
// be its child where setpriv forks).
func childOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil || strings.TrimSpace(string(b)) == "" {
		return pid // setpriv exec'd the program itself
	}
	child, err := strconv.Atoi(strings.Fields(string(b))[0])
	if err != nil {
		t.Fatal(err)
	}
	return child
}

// passwdEntry returns the fields of user's line in /etc/passwd.
func passwdEntry(t *testing.T, user string) []string {
	t.Helper()
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Split(line, ":"); len(f) == 7 && f[0] == user {
			return f
		}
	}
	t.Skipf("no user %s in /etc/passwd", user)
	return nil
}

// TestExecUser: --user runs the program with the user's uid, gid, groups,
// HOME, USER and LOGNAME; it is traced as usual.
func TestExecUser(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	pw := passwdEntry(t, "nobody")
	dir, fixturePath := worldDir(t, fx)
	out := filepath.Join(dir, "out.jsonl")
	otrace, port, pid := startExec(t, dir, nil, []string{bin, "-o", out, "--user", "nobody"}, fixturePath)

	status := readFileString(fmt.Sprintf("/proc/%d/status", pid))
	for _, want := range []string{
		fmt.Sprintf("Uid:\t%s\t%s\t%s\t%s\n", pw[2], pw[2], pw[2], pw[2]),
		fmt.Sprintf("Gid:\t%s\t%s\t%s\t%s\n", pw[3], pw[3], pw[3], pw[3]),
		fmt.Sprintf("Groups:\t%s \n", pw[3]),
	} {
		if !strings.Contains(status, want) {
			t.Errorf("/proc/%d/status lacks %q:\n%s", pid, want, status)
		}
	}
	env := strings.Split(readFileString(fmt.Sprintf("/proc/%d/environ", pid)), "\x00")
	for _, want := range []string{"HOME=" + pw[5], "USER=nobody", "LOGNAME=nobody"} {
		found := false
		for _, e := range env {
			found = found || e == want
		}
		if !found {
			t.Errorf("the program's environment lacks %s", want)
		}
	}
	reqs := sendMixed(t, port, 5)
	otrace.signal(t, syscall.SIGTERM)
	otrace.expectExit(t, exitTimeout, 0)
	spans := readOutput(t, out)
	checkServerSpans(t, spans, reqs, serverEnv{port: port, hasRoute: fx.hasRoute})
}
