package integration

import (
	"context"
	"fmt"
	"net/http"
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

// agentExitTimeout bounds otrace --all's exit: it removes the probes of
// every executable it traced, and the kernel takes a grace period per probe.
const agentExitTimeout = 60 * time.Second

// strippedFixture builds the fixture without symbols and DWARF (-s -w) at path.
func strippedFixture(t *testing.T, path string) fixtureInfo {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "fixtures", "build-fixture.sh"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "sh", script, "go", path, "-ldflags=-s -w").CombinedOutput(); err != nil {
		t.Fatalf("building the stripped fixture: %v\n%s", err, out)
	}
	fx, err := describeFixture(path)
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// agentProcess is one process of an --all test: what it runs, what was sent
// to it, and the executable path its spans must name.
type agentProcess struct {
	tracedProcess
	name string
	exe  string // process.executable.path as the process sees it
	pid  int    // the host's PID
}

func (ap *agentProcess) send(t *testing.T, client *http.Client, n int) {
	t.Helper()
	reqs := mixedRequests(n)
	sendAll(t, client, ap.port, reqs)
	ap.reqs = append(ap.reqs, reqs...)
}

// startAgent starts otrace --all and waits until it has traced the
// processes running now; it returns the process and that line.
func startAgent(t *testing.T, dir, bin string, args ...string) (*proc, string) {
	t.Helper()
	p := startProc(t, dir, "otrace", nil, bin, args...)
	line := p.waitStderrLine(t, "traced as they start", readyTimeout)
	t.Logf("otrace ready: %s", line)
	return p, line
}

// startAgentFixture runs bin as name in dir and waits until it listens.
func startAgentFixture(t *testing.T, dir, name string, fx fixtureInfo, bin string) *agentProcess {
	t.Helper()
	p, port := startFixtureNamed(t, dir, name, bin)
	return &agentProcess{tracedProcess: tracedProcess{p: p, port: port, fx: fx}, name: name, exe: fx.path, pid: p.pid()}
}

var summaryLostRE = regexp.MustCompile(`(?m)^otrace: (\d+) spans written, (\d+) lost\b`)

// checkAgentOutput: every process has exactly the spans of the requests it
// served, under its own resource; nothing else was traced; the exit line's
// written + lost is every request served.
func checkAgentOutput(t *testing.T, out, stderr string, traced []*agentProcess, untraced []*agentProcess) {
	t.Helper()
	byPID := readOutputByPID(t, out)
	served := 0
	want := make(map[int]bool)
	for _, ap := range traced {
		want[ap.pid] = true
		served += len(ap.reqs)
		spans := byPID[ap.pid]
		t.Run(ap.name, func(t *testing.T) {
			t.Logf("PID %d (%s, %s): %d spans for %d requests", ap.pid, ap.exe, ap.fx.goVersion, len(spans), len(ap.reqs))
			if len(spans) != len(ap.reqs) {
				t.Errorf("%d spans, want one per request: %d", len(spans), len(ap.reqs))
			}
			checkServerSpans(t, spans, ap.reqs, serverEnv{port: ap.port, hasRoute: ap.fx.hasRoute})
			if ap.exe == ap.fx.path {
				checkResource(t, spans, resourceWant{serviceName: filepath.Base(ap.fx.path), pid: ap.pid, fx: ap.fx})
			} else {
				checkProcessResource(t, spans, ap.pid, ap.exe, "")
			}
		})
	}
	for _, ap := range untraced {
		if n := len(byPID[ap.pid]); n != 0 {
			t.Errorf("%s (PID %d) must not be traced; it has %d spans", ap.name, ap.pid, n)
		}
		want[ap.pid] = true
	}
	for pid, spans := range byPID {
		if !want[pid] {
			t.Errorf("%d spans of PID %d, which no filter admits (%s)", len(spans), pid, spans[0].Resource["process.executable.path"])
		}
	}
	m := summaryLostRE.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no exit line on stderr:\n%s", stderr)
	}
	written, _ := strconv.Atoi(m[1])
	lost, _ := strconv.Atoi(m[2])
	if written+lost != served || lost != 0 {
		t.Errorf("exit line: %d written + %d lost, want %d served, none lost", written, lost, served)
	}
}

// TestAllProcesses: otrace --all traces eleven Go processes of four
// executables (two Go releases, one of them also built stripped and run in
// PID and mount namespaces of its own, where its path names no file of the
// host, and a copy of another, which runs on that one's BPF instance),
// started before and after otrace, some exiting and others starting while it
// runs, each with exactly its spans under its own resource. The copy's only
// process exits: its probes go, not those of the file it shares programs
// with. The
// filters hold: --include keeps it to this test's files (other tests'
// and other users' programs on the host are not touched), and --exclude by
// name skips a process of a traced executable, whose spans the BPF side
// then keeps back.
func TestAllProcesses(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare (util-linux) not installed")
	}
	dir := t.TempDir()
	base, other := fixture(t), otherFixture(t)
	a := base
	a.path = filepath.Join(dir, "api")
	copyFile(t, base.path, a.path, 0o755)
	b := other
	b.path = filepath.Join(dir, "billing")
	copyFile(t, other.path, b.path, 0o755)
	c := strippedFixture(t, filepath.Join(dir, "cart"))
	d := base
	d.path = filepath.Join(dir, "api-copy")
	copyFile(t, base.path, d.path, 0o755)
	t.Logf("executables: %s (%s), %s (%s), %s (%s, stripped)", a.path, a.goVersion, b.path, b.goVersion, c.path, c.goVersion)
	if a.goVersion == b.goVersion {
		t.Logf("no second Go release in the module cache: %s is the PIE build of the same release", b.path)
	}
	// an excluded name: the same file as api, started through a link named skipme
	skipLink := filepath.Join(dir, "skipme")
	if err := os.Symlink(a.path, skipLink); err != nil {
		t.Fatal(err)
	}
	// cart in PID and mount namespaces of its own: the same file (a hard link),
	// mounted where the host has nothing
	nsDir := filepath.Join(dir, "ns")
	inside, mnt := filepath.Join(nsDir, "inside"), filepath.Join(nsDir, "app")
	for _, d := range []string{inside, mnt} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(c.path, filepath.Join(inside, "server")); err != nil {
		t.Fatal(err)
	}
	startNS := func(name string) *agentProcess {
		portFile := filepath.Join(nsDir, name+".port")
		ns := startProc(t, nsDir, name, nil, "unshare", "--pid", "--mount", "--fork", "--mount-proc", "sh", "-c",
			fmt.Sprintf("mount --bind %s %s && exec %s -portfile %s", inside, mnt, filepath.Join(mnt, "server"), portFile))
		port := waitPortFile(t, portFile, ns)
		return &agentProcess{tracedProcess: tracedProcess{p: ns, port: port, fx: c}, name: name, exe: filepath.Join(mnt, "server"), pid: childOf(t, ns.pid())}
	}

	before := []*agentProcess{
		startAgentFixture(t, dir, "api-1", a, a.path),
		startAgentFixture(t, dir, "api-2", a, a.path),
		startAgentFixture(t, dir, "billing-1", b, b.path),
		startAgentFixture(t, dir, "cart-1", c, c.path),
		startNS("cart-ns"),
		startAgentFixture(t, dir, "apicopy-1", d, d.path),
	}
	skipped := startAgentFixture(t, dir, "skipme", a, skipLink)
	out := filepath.Join(dir, "out.jsonl")
	otrace, ready := startAgent(t, dir, bin, "--all", "--include", dir+"/*", "--exclude", "skipme", "-o", out, "-v")
	if !strings.Contains(ready, "4 executables, 6 processes") {
		t.Errorf("ready line %q: want 4 executables, 6 processes", ready)
	}
	client := newClient()
	for _, ap := range before {
		ap.send(t, client, 6)
	}
	after := []*agentProcess{
		startAgentFixture(t, dir, "api-3", a, a.path),
		startAgentFixture(t, dir, "cart-2", c, c.path),
	}
	for _, ap := range after {
		ap.send(t, client, 6)
	}
	sendAll(t, client, skipped.port, mixedRequests(5))
	// three exit while otrace runs, billing's and api-copy's only ones among
	// them; three more start
	client.CloseIdleConnections()
	for _, ap := range []*agentProcess{before[1], before[2], before[5]} {
		ap.p.signal(t, syscall.SIGTERM)
		ap.p.expectExit(t, exitTimeout, 0)
		otrace.waitStderrLine(t, fmt.Sprintf("PID %d exited", ap.pid), exitTimeout)
	}
	later := []*agentProcess{
		startAgentFixture(t, dir, "billing-2", b, b.path),
		startAgentFixture(t, dir, "billing-3", b, b.path),
		startAgentFixture(t, dir, "cart-3", c, c.path),
	}
	for _, ap := range append(append([]*agentProcess{}, before[0], before[3], before[4]), append(after, later...)...) {
		ap.send(t, client, 4)
	}
	client.CloseIdleConnections()
	time.Sleep(300 * time.Millisecond) // the last spans' flush
	start := time.Now()
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, agentExitTimeout, 0)
	t.Logf("otrace exited %v after SIGINT", time.Since(start).Round(time.Millisecond))
	stderr := otrace.stderr()
	if n := countLines(stderr, "probes to "+b.path); n != 2 {
		// billing's last process exited and a new one came: probes removed, then put back
		t.Errorf("stderr says %d times that billing's probes were attached, want 2 (again after its only process exited)", n)
	}
	// api-copy is api byte for byte: one BPF instance runs both (cart,
	// stripped but otherwise the same build as api, may share it too)
	if n := strings.Count(stderr, "runs this one's programs too"); n < 1 || n > 2 {
		t.Errorf("stderr says %d times that a BPF instance was shared, want 1 (api-copy) or 2 (cart too)", n)
	}
	all := append(append(before, after...), later...)
	checkAgentOutput(t, out, stderr, all, []*agentProcess{skipped})
	if len(all) != 11 {
		t.Fatalf("%d processes, want 11", len(all))
	}
	if skipped.p.exited() {
		t.Errorf("the excluded process exited (%v)", skipped.p.state)
	}
}

// TestAllRunAgain: the only process of an executable exits, so its probes are
// removed, and a new process of it starts while they still are (removal
// slowed by the test hook, as a loaded host's grace periods would). The
// probes on their way out fire for the new process too, beside its own: its
// HTTP and gRPC requests must each be counted once, written + lost exactly
// the spans of the requests served, none unfinished.
func TestAllRunAgain(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	t.Setenv("OTRACE_TEST_DETACH_DELAY_MS", "4000")
	dir := t.TempDir()
	fx := filepath.Join(dir, "svc")
	copyFile(t, grpcFixture(t, "services", newestGRPC), fx, 0o755)
	out := filepath.Join(dir, "out.jsonl")
	otrace, _ := startAgent(t, dir, bin, "--all", "--include", dir+"/*", "-o", out, "-v")
	client := newClient()
	served := map[int]int{} // spans of the requests each process served
	run := func(name string, requests int) (*proc, servicesProc) {
		t.Helper()
		d := filepath.Join(dir, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		p := startProc(t, d, name, nil, fx, servicesArgs(d)...)
		svc := waitServices(t, d, p)
		otrace.waitStderrLine(t, fmt.Sprintf("PID %d (%s) traced", svc.pid, fx), readyTimeout)
		for i := 0; i < requests; i++ {
			getOK(t, client, svc.port, "/hello")
			getOK(t, client, svc.port, "/grpc?op=ok")
			served[svc.pid] += 1 + 3 // a server span; a server, a gRPC client and a gRPC server span
		}
		return p, svc
	}
	first, svc := run("first", 2)
	client.CloseIdleConnections()
	first.signal(t, syscall.SIGTERM)
	first.expectExit(t, exitTimeout, 0)
	otrace.waitStderrLine(t, fmt.Sprintf("PID %d exited", svc.pid), exitTimeout)
	removing := otrace.waitStderrLine(t, "no process runs it any more", exitTimeout)
	start := time.Now()
	_, svc = run("second", 5)
	if took := time.Since(start); took > 3*time.Second {
		// the removal takes 4 s: the probes were not slowed down by it, or
		// the test's premise (it runs while they are removed) does not hold
		t.Logf("the second process was traced and served %v after %q", took, removing)
	}
	client.CloseIdleConnections()
	time.Sleep(300 * time.Millisecond) // the last spans' flush
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, agentExitTimeout, 0)
	byPID := readOutputByPID(t, out)
	written, total := 0, 0
	for pid, want := range served {
		written += len(byPID[pid])
		total += want
		if len(byPID[pid]) != want {
			t.Errorf("PID %d: %d spans, want %d: one per span of each request it served", pid, len(byPID[pid]), want)
		}
	}
	c := exitLine(t, otrace.stderr())
	checkAccounting(t, c, written, total, 0)
	if c.reasons["unfinished"] != 0 {
		t.Errorf("%q: spans counted unfinished, but every call ended", c.line)
	}
}

// TestAllProcessesPort: --port N traces the processes listening on port N:
// one that listened before otrace started and one that starts listening
// after (the listen tracepoint admits it), not another process of the same
// executable on another port.
func TestAllProcessesPort(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	dir := t.TempDir()
	base := fixture(t)
	fx := base
	fx.path = filepath.Join(dir, "svc")
	copyFile(t, base.path, fx.path, 0o755)
	p1, p2 := freePort(t), freePort(t)
	start := func(name string, port int) *agentProcess {
		p := startProc(t, dir, name, nil, fx.path, "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-portfile", filepath.Join(dir, name+".port"))
		got := waitPortFile(t, filepath.Join(dir, name+".port"), p)
		return &agentProcess{tracedProcess: tracedProcess{p: p, port: got, fx: fx}, name: name, exe: fx.path, pid: p.pid()}
	}
	early := start("early", p1)
	other := start("other", 0)
	out := filepath.Join(dir, "out.jsonl")
	otrace, _ := startAgent(t, dir, bin, "--all", "--include", dir+"/*", "--port", strconv.Itoa(p1), "--port", strconv.Itoa(p2), "-o", out, "-v")
	late := start("late", p2)
	client := newClient()
	for _, ap := range []*agentProcess{early, other, late} {
		ap.send(t, client, 5)
	}
	client.CloseIdleConnections()
	time.Sleep(300 * time.Millisecond)
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, agentExitTimeout, 0)
	checkAgentOutput(t, out, otrace.stderr(), []*agentProcess{early, late}, []*agentProcess{other})
}

// TestAllBadInput: what --all refuses, each with one line and exit 2.
func TestAllBadInput(t *testing.T) {
	bin := otraceBin(t)
	dir := t.TempDir()
	cases := []struct {
		name  string
		args  []string
		names string
	}{
		{"bad glob", []string{"--all", "--include", "/srv/[ab"}, "unclosed"},
		{"empty pattern", []string{"--all", "--exclude", ""}, "empty"},
		{"bad port", []string{"--all", "--port", "70000"}, "70000"},
		{"port zero", []string{"--all", "--port", "0"}, "'0'"},
		{"port not a number", []string{"--all", "--port", "http"}, "http"},
		{"all and pid", []string{"--all", "-p", "1"}, "combined"},
		{"all and exec", []string{"--all", "--exec", "/bin/true"}, "combined"},
		{"all and binary", []string{"--all", "--binary", "/bin/true"}, "combined"},
		{"filter without all", []string{"-p", "1", "--port", "80"}, "--all"},
		{"list-probes all", []string{"--list-probes", "--all"}, "--all"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runOtrace(t, dir, fmt.Sprintf("otrace-bad%d", i), append([]string{bin}, tc.args...)...)
			checkRefusal(t, "otrace "+strings.Join(tc.args, " "), code, stdout, stderr, 2)
			if lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n"); len(lines) != 1 {
				t.Errorf("stderr has %d lines, want one", len(lines))
			}
			if !strings.Contains(stderr, tc.names) {
				t.Errorf("stderr does not mention %q", tc.names)
			}
		})
	}
}
