package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"otrace.test/gotests/internal/otlp"
)

// startFixtureNamed runs the fixture binary bin as a process called name
// (its files in dir are named after it) and waits until it listens.
func startFixtureNamed(t *testing.T, dir, name, bin string) (*proc, int) {
	t.Helper()
	portFile := filepath.Join(dir, name+".port")
	p := startProc(t, dir, name, nil, bin, "-portfile", portFile)
	return p, waitPortFile(t, portFile, p)
}

// startOtrace starts otrace with args and waits until it says it is
// attached; it returns the process and that line.
func startOtrace(t *testing.T, dir, bin string, args ...string) (*proc, string) {
	t.Helper()
	p := startProc(t, dir, "otrace", nil, bin, args...)
	line := p.waitStderrLine(t, "attached", readyTimeout)
	t.Logf("otrace ready: %s", line)
	return p, line
}

// readOutputByPID decodes an output file of several traced processes and
// returns its spans by process.pid. Per line, each process has exactly one
// resourceSpans entry.
func readOutputByPID(t *testing.T, path string) map[int][]otlp.Span {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("otrace output: %v", err)
	}
	defer f.Close()
	byPID := make(map[int][]otlp.Span)
	lines, multi := 0, 0
	err = otlp.ReadLines(f,
		func(n int, td ptrace.Traces) error {
			lines++
			seen := make(map[int64]bool)
			rss := td.ResourceSpans()
			for i := 0; i < rss.Len(); i++ {
				v, ok := rss.At(i).Resource().Attributes().Get("process.pid")
				if !ok {
					t.Errorf("line %d: resourceSpans %d has no process.pid", n, i)
					continue
				}
				if seen[v.Int()] {
					t.Errorf("line %d: process %d has more than one resourceSpans entry", n, v.Int())
				}
				seen[v.Int()] = true
			}
			if len(seen) > 1 {
				multi++
			}
			for _, s := range otlp.Flatten(td) {
				pid, _ := s.Resource["process.pid"].(int64)
				byPID[int(pid)] = append(byPID[int(pid)], s)
			}
			return nil
		},
		func(e *otlp.LineError) { t.Errorf("%s:%v", path, e) })
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	t.Logf("%s: %d lines (%d with several processes), spans per PID: %v", path, lines, multi, spanCounts(byPID))
	if t.Failed() {
		t.Logf("%s starts with:\n%s", path, clip(readFileString(path), 4000))
	}
	return byPID
}

func spanCounts(byPID map[int][]otlp.Span) map[int]int {
	n := make(map[int]int)
	for pid, spans := range byPID {
		n[pid] = len(spans)
	}
	return n
}

// tracedProcess is one fixture process of a multi-process test: what was
// sent to it and what its spans and resource must be.
type tracedProcess struct {
	p    *proc
	port int
	fx   fixtureInfo
	reqs []*request
}

// checkProcesses checks that the output has spans of exactly these
// processes, each under its own resource and matching what was sent to it,
// and that the summary counts all of them.
func checkProcesses(t *testing.T, byPID map[int][]otlp.Span, stderr string, procs ...*tracedProcess) {
	t.Helper()
	want := make(map[int]bool)
	total := 0
	for _, tp := range procs {
		pid := tp.p.pid()
		want[pid] = true
		spans := byPID[pid]
		t.Logf("PID %d (%s, %s): %d spans for %d requests", pid, filepath.Base(tp.fx.path), tp.fx.goVersion, len(spans), len(tp.reqs))
		checkServerSpans(t, spans, tp.reqs, serverEnv{port: tp.port, hasRoute: tp.fx.hasRoute})
		checkResource(t, spans, resourceWant{serviceName: filepath.Base(tp.fx.path), pid: pid, fx: tp.fx})
		total += len(spans)
	}
	for pid, spans := range byPID {
		if !want[pid] {
			t.Errorf("%d spans under process.pid %d, which was not traced", len(spans), pid)
		}
	}
	checkSummary(t, stderr, total)
}

// countLines counts the stderr lines that contain substr.
func countLines(s, substr string) int {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

// TestMultiPID: -p A,B traces two processes of one binary, each span under
// its own process's resource; when A exits otrace says so once and goes on
// tracing B, and it exits 0 by itself once B has exited too.
func TestMultiPID(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	a, portA := startFixtureNamed(t, dir, "fixtureA", fx.path)
	b, portB := startFixtureNamed(t, dir, "fixtureB", fx.path)
	out := filepath.Join(dir, "out.jsonl")

	list := fmt.Sprintf("%d,%d", a.pid(), b.pid())
	otrace, ready := startOtrace(t, dir, bin, "-p", list, "-o", out)
	for _, pid := range []int{a.pid(), b.pid()} {
		if !strings.Contains(ready, strconv.Itoa(pid)) {
			t.Errorf("ready line %q does not name PID %d", ready, pid)
		}
	}

	ta := &tracedProcess{p: a, port: portA, fx: fx, reqs: mixedRequests(24)}
	tb := &tracedProcess{p: b, port: portB, fx: fx, reqs: mixedRequests(24)}
	client := newClient()
	// Interleaved, so that lines hold spans of both processes.
	for i := range ta.reqs {
		sendAll(t, client, portA, ta.reqs[i:i+1])
		sendAll(t, client, portB, tb.reqs[i:i+1])
	}
	client.CloseIdleConnections()

	a.signal(t, syscall.SIGTERM)
	a.expectExit(t, exitTimeout, 0)
	otrace.waitStderrLine(t, fmt.Sprintf("PID %d exited", a.pid()), exitTimeout)
	if otrace.exited() {
		t.Fatalf("otrace exited (%v) when only one of its two processes had", otrace.state)
	}
	// B is still traced.
	late := []*request{
		newRequest("GET", "/hello", 200, "/hello"),
		newRequest("GET", "/status/503", 503, "/status/{code}"),
	}
	sendAll(t, client, portB, late)
	tb.reqs = append(tb.reqs, late...)
	client.CloseIdleConnections()

	b.signal(t, syscall.SIGTERM)
	b.expectExit(t, exitTimeout, 0)
	otrace.expectExit(t, exitTimeout, 0)

	stderr := otrace.stderr()
	for _, pid := range []int{a.pid(), b.pid()} {
		if n := countLines(stderr, fmt.Sprintf("PID %d exited", pid)); n != 1 {
			t.Errorf("stderr reports the exit of PID %d %d times, want once:\n%s", pid, n, stderr)
		}
	}
	checkProcesses(t, readOutputByPID(t, out), stderr, ta, tb)
}

// TestBinaryAllProcesses: --binary FILE traces every process that runs FILE,
// including one started after otrace attached, each under its own resource;
// a process of another executable is not traced, and otrace runs on after
// the processes exit, until SIGINT.
func TestBinaryAllProcesses(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	// A copy of our own: other tests' fixtures must not be traced, and the
	// original, another file, serves as the process that must not be.
	own := fx
	own.path = filepath.Join(dir, "httpserver-all")
	copyFile(t, fx.path, own.path, 0o755)
	out := filepath.Join(dir, "out.jsonl")

	before, portBefore := startFixtureNamed(t, dir, "fixture-before", own.path)
	other, portOther := startFixtureNamed(t, dir, "fixture-other", fx.path)
	otrace, _ := startOtrace(t, dir, bin, "--binary", own.path, "-o", out)
	after, portAfter := startFixtureNamed(t, dir, "fixture-after", own.path)

	tBefore := &tracedProcess{p: before, port: portBefore, fx: own, reqs: mixedRequests(22)}
	tAfter := &tracedProcess{p: after, port: portAfter, fx: own, reqs: mixedRequests(22)}
	client := newClient()
	for i := range tBefore.reqs {
		sendAll(t, client, portBefore, tBefore.reqs[i:i+1])
		sendAll(t, client, portAfter, tAfter.reqs[i:i+1])
	}
	sendAll(t, client, portOther, mixedRequests(21))
	client.CloseIdleConnections()

	for _, p := range []*proc{before, after} {
		p.signal(t, syscall.SIGTERM)
		p.expectExit(t, exitTimeout, 0)
	}
	time.Sleep(500 * time.Millisecond)
	if otrace.exited() {
		t.Fatalf("otrace --binary exited (%v) when the processes did; it must run until a signal", otrace.state)
	}
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)

	checkProcesses(t, readOutputByPID(t, out), otrace.stderr(), tBefore, tAfter)
	if other.exited() {
		t.Errorf("the untraced fixture exited (%v)", other.state)
	}
}

var (
	otherFixtureOnce sync.Once
	otherFixtureVal  fixtureInfo
	otherFixtureErr  error
)

// otherFixture returns the fixture built by a second Go toolchain, so that
// its struct offsets and runtime map layout differ from fixture()'s: the
// newest Go 1.22/1.23 toolchain in the module cache (hmap headers, where
// 1.24+ has swiss maps), used offline. Without one, the fixture built as PIE
// by the same go: still another binary with other file offsets.
func otherFixture(t *testing.T) fixtureInfo {
	t.Helper()
	fx := fixture(t)
	otherFixtureOnce.Do(func() {
		script, err := filepath.Abs(filepath.Join("..", "..", "fixtures", "build-fixture.sh"))
		if err != nil {
			otherFixtureErr = err
			return
		}
		path := filepath.Join(sharedDir, "httpserver-other")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		var out []byte
		if tc := cachedToolchain(fx); tc != "" {
			cmd := exec.CommandContext(ctx, "sh", script, "go", path)
			cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+tc, "GOPROXY=off")
			if out, err = cmd.CombinedOutput(); err == nil {
				otherFixtureVal, otherFixtureErr = describeFixture(path)
				return
			}
			t.Logf("building the fixture with %s failed (%v), trying PIE:\n%s", tc, err, out)
		}
		out, err = exec.CommandContext(ctx, "sh", script, "go", path, "-buildmode=pie").CombinedOutput()
		if err != nil {
			otherFixtureErr = fmt.Errorf("building the PIE fixture: %v\n%s", err, out)
			return
		}
		otherFixtureVal, otherFixtureErr = describeFixture(path)
	})
	if otherFixtureErr != nil {
		t.Fatal(otherFixtureErr)
	}
	return otherFixtureVal
}

// cachedToolchain names the newest go1.22.x/go1.23.x toolchain in the module
// cache whose minor differs from fx's, or "".
func cachedToolchain(fx fixtureInfo) string {
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return ""
	}
	matches, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(modcache)),
		"golang.org", "toolchain@v0.0.1-go1.2[23].*.linux-amd64"))
	own, _ := goMinor(fx.goVersion)
	var versions []string
	for _, m := range matches {
		v := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "toolchain@v0.0.1-"), ".linux-amd64")
		if minor, ok := goMinor(v); ok && minor != own {
			versions = append(versions, v)
		}
	}
	sort.Slice(versions, func(i, j int) bool { return versionLess(versions[i], versions[j]) })
	if len(versions) == 0 {
		return ""
	}
	return versions[len(versions)-1]
}

// versionLess orders "go1.M.P" strings numerically.
func versionLess(a, b string) bool {
	pa := strings.Split(strings.TrimPrefix(a, "go"), ".")
	pb := strings.Split(strings.TrimPrefix(b, "go"), ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}

// TestMultiPIDTwoBinaries: -p A,B over two different Go binaries (two
// toolchains, so other struct offsets) loads one BPF instance per binary:
// the spans of both are right, each under its process's resource with its
// own Go version. --list-probes -p A,B prints both plans.
func TestMultiPIDTwoBinaries(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	fx2 := otherFixture(t)
	t.Logf("binaries: %s (%s) and %s (%s)", fx.path, fx.goVersion, fx2.path, fx2.goVersion)
	dir := t.TempDir()
	a, portA := startFixtureNamed(t, dir, "fixtureA", fx.path)
	b, portB := startFixtureNamed(t, dir, "fixtureB", fx2.path)
	list := fmt.Sprintf("%d,%d", a.pid(), b.pid())

	t.Run("list-probes", func(t *testing.T) {
		code, stdout, stderr := runOtrace(t, dir, "otrace-list", bin, "--list-probes", "-p", list)
		if code != 0 {
			t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
		}
		var plans []json.RawMessage
		if err := json.Unmarshal([]byte(stdout), &plans); err != nil {
			t.Fatalf("stdout is not a JSON array: %v\n%s", err, clip(stdout, 2000))
		}
		if len(plans) != 2 {
			t.Fatalf("%d plans, want one per binary (2)", len(plans))
		}
		for i, want := range []struct {
			fx  fixtureInfo
			pid int
		}{{fx, a.pid()}, {fx2, b.pid()}} {
			var head struct {
				Binary string `json:"binary"`
				PIDs   []int  `json:"pids"`
			}
			if err := json.Unmarshal(plans[i], &head); err != nil {
				t.Fatalf("plan %d: %v", i, err)
			}
			if !sameFile(head.Binary, want.fx.path) || len(head.PIDs) != 1 || head.PIDs[0] != want.pid {
				t.Errorf("plan %d is for %q, PIDs %v; want %s, [%d]", i, head.Binary, head.PIDs, want.fx.path, want.pid)
			}
			checkProbePlan(t, string(plans[i]), want.fx)
		}
	})

	out := filepath.Join(dir, "out.jsonl")
	otrace, ready := startOtrace(t, dir, bin, "-p", list, "-o", out)
	if !strings.Contains(ready, "2 executables") {
		t.Errorf("ready line %q: want it to count 2 executables", ready)
	}
	ta := &tracedProcess{p: a, port: portA, fx: fx, reqs: mixedRequests(24)}
	tb := &tracedProcess{p: b, port: portB, fx: fx2, reqs: mixedRequests(24)}
	client := newClient()
	for i := range ta.reqs {
		sendAll(t, client, portA, ta.reqs[i:i+1])
		sendAll(t, client, portB, tb.reqs[i:i+1])
	}
	client.CloseIdleConnections()

	otrace.signal(t, syscall.SIGTERM)
	otrace.expectExit(t, exitTimeout, 0)
	for _, p := range []*proc{a, b} {
		if p.exited() {
			t.Errorf("%s exited (%v) when otrace detached", p.name, p.state)
		}
	}
	checkProcesses(t, readOutputByPID(t, out), otrace.stderr(), ta, tb)
}

// TestMultiPIDBadInput: a bad PID list is a usage error; a PID in it that
// does not exist or is not Go gets its own exit code, and each refusal is
// one line on stderr that names the culprit.
func TestMultiPIDBadInput(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	target, _ := startFixtureNamed(t, dir, "fixture", fx.path)
	pid := strconv.Itoa(target.pid())
	sleeper := startProc(t, dir, "sleep", nil, "sleep", "30")
	free := strconv.Itoa(freePid(t))
	many := make([]string, 65)
	for i := range many {
		many[i] = strconv.Itoa(1000 + i)
	}

	cases := []struct {
		name  string
		args  []string
		code  int
		names string // the message must contain this
	}{
		{"not a number in the list", []string{"-p", "1,abc"}, 2, "abc"},
		{"empty list", []string{"-p", ","}, 2, "empty"},
		{"trailing comma", []string{"-p", pid + ","}, 2, "empty"},
		{"zero", []string{"-p", pid + ",0"}, 2, "'0'"},
		{"too many", []string{"-p", strings.Join(many, ",")}, 2, "64"},
		{"pid and binary", []string{"-p", pid, "--binary", fx.path}, 2, "combined"},
		{"nonexistent pid in the list", []string{"-p", pid + "," + free}, 3, free},
		{"non-Go pid in the list", []string{"-p", pid + "," + strconv.Itoa(sleeper.pid())}, 4, strconv.Itoa(sleeper.pid())},
		{"non-Go binary", []string{"--binary", "/bin/sleep"}, 4, "/bin/sleep"},
		{"nonexistent binary", []string{"--binary", filepath.Join(dir, "nonexistent")}, 4, "nonexistent"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runOtrace(t, dir, fmt.Sprintf("otrace-bad%d", i), append([]string{bin}, tc.args...)...)
			checkRefusal(t, "otrace "+strings.Join(tc.args, " "), code, stdout, stderr, tc.code)
			if lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n"); len(lines) != 1 {
				t.Errorf("stderr has %d lines, want one", len(lines))
			}
			if !strings.Contains(stderr, tc.names) {
				t.Errorf("stderr does not mention %q", tc.names)
			}
		})
	}
	if target.exited() {
		t.Errorf("fixture exited (%v) during the refusals", target.state)
	}
}
