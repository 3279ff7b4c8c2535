package integration

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"otrace.test/gotests/internal/otlp"
)

// Deadlines. Generous, because the machine is small and noisy, but every wait
// has one so that a broken otrace fails the test instead of hanging it.
const (
	readyTimeout = 30 * time.Second // BPF load + attach, or fixture start
	exitTimeout  = 10 * time.Second // the contract's bound for a clean exit
	buildTimeout = 3 * time.Minute  // first fixture build may compile std
)

// sharedDir holds artefacts built once per test binary run (the fixture, the
// program without net/http). Removed by TestMain.
var sharedDir string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "otrace-it-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		sharedDir = dir
		return m.Run()
	}())
}

// otraceBin returns the binary under test, skipping when OTRACE_BIN is unset
// (a plain `go test ./...` then still passes the unit tests) and failing
// when it is set but unusable, which is a broken build, not a missing one.
func otraceBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("OTRACE_BIN")
	if bin == "" {
		t.Skip("OTRACE_BIN is not set: set it to the otrace binary (test/go/run-integration.sh does) to run the integration tests")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatalf("OTRACE_BIN=%s: %v", bin, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		t.Fatalf("OTRACE_BIN=%s: %v", bin, err)
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		t.Fatalf("OTRACE_BIN=%s is not an executable file", bin)
	}
	return abs
}

// requireRoot skips tests that attach uprobes when we cannot: otrace is
// meant to need CAP_BPF+CAP_PERFMON, and the not-root case has its own test.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("tracing needs root (CAP_BPF, CAP_PERFMON); run the integration tests as root")
	}
}

// fixtureInfo describes the httpserver fixture binary.
type fixtureInfo struct {
	path      string // absolute
	goVersion string // as the binary records it, e.g. "go1.26.8"
	// hasRoute: built with Go >= 1.22, so ServeMux records the matched
	// pattern and otrace is expected to report http.route.
	hasRoute bool
}

var (
	fixtureOnce sync.Once
	fixtureVal  fixtureInfo
	fixtureErr  error
)

// fixture returns OTRACE_FIXTURE or a fixture built once with the go on PATH.
func fixture(t *testing.T) fixtureInfo {
	t.Helper()
	fixtureOnce.Do(func() { fixtureVal, fixtureErr = loadFixture() })
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureVal
}

func loadFixture() (fixtureInfo, error) {
	path := os.Getenv("OTRACE_FIXTURE")
	if path == "" {
		script, err := filepath.Abs(filepath.Join("..", "..", "fixtures", "build-fixture.sh"))
		if err != nil {
			return fixtureInfo{}, err
		}
		path = filepath.Join(sharedDir, "httpserver")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, "sh", script, "go", path).CombinedOutput()
		if err != nil {
			return fixtureInfo{}, fmt.Errorf("building fixture with %s: %v\n%s", script, err, out)
		}
	}
	return describeFixture(path)
}

// describeFixture reads what the tests need to know from a fixture binary.
func describeFixture(path string) (fixtureInfo, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return fixtureInfo{}, err
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return fixtureInfo{}, fmt.Errorf("fixture %s: %v", path, err)
	}
	minor, ok := goMinor(bi.GoVersion)
	if !ok {
		return fixtureInfo{}, fmt.Errorf("fixture %s: cannot parse Go version %q", path, bi.GoVersion)
	}
	return fixtureInfo{path: path, goVersion: bi.GoVersion, hasRoute: minor >= firstRouteGoMinor}, nil
}

// firstRouteGoMinor is the first Go 1.x whose ServeMux records the matched
// pattern: 1.22 keeps it in the unexported Request.pat (pattern.str), 1.23
// and later also in Request.Pattern. otrace is expected to report http.route
// from there on.
const firstRouteGoMinor = 22

var goVersionRE = regexp.MustCompile(`^go1\.(\d+)`)

func goMinor(v string) (int, bool) {
	m := goVersionRE.FindStringSubmatch(v)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

var (
	noHTTPOnce sync.Once
	noHTTPPath string
	noHTTPErr  error
)

// noHTTPProgram is a Go binary that links no instrumented library: otrace
// must refuse it with exit 5. It sleeps so that, should otrace run it
// anyway, the test sees a timeout rather than a lucky exit status.
func noHTTPProgram(t *testing.T) string {
	t.Helper()
	noHTTPOnce.Do(func() {
		src := filepath.Join(sharedDir, "nohttp-src")
		if noHTTPErr = os.MkdirAll(src, 0o755); noHTTPErr != nil {
			return
		}
		files := map[string]string{
			"go.mod":  "module nohttp\n\ngo 1.19\n",
			"main.go": "package main\n\nimport \"time\"\n\nfunc main() { time.Sleep(30 * time.Second) }\n",
		}
		for name, content := range files {
			if noHTTPErr = os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); noHTTPErr != nil {
				return
			}
		}
		noHTTPPath = filepath.Join(sharedDir, "nohttp")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", noHTTPPath, ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			noHTTPErr = fmt.Errorf("building program without net/http: %v\n%s", err, out)
		}
	})
	if noHTTPErr != nil {
		t.Fatal(noHTTPErr)
	}
	return noHTTPPath
}

// proc is a process started by a test. Its stdout and stderr go to files,
// not pipes: exec.Cmd.Wait would otherwise also wait for any grandchild
// (the --exec'd fixture) holding the pipe open. Every proc runs in its own
// process group, which its cleanup kills.
type proc struct {
	name       string
	cmd        *exec.Cmd
	stdoutPath string // "" when the caller supplied stdout
	stderrPath string
	done       chan struct{} // closed once Wait returned
	state      *os.ProcessState
}

// startProc starts bin with args; stdout may be nil (a file in dir is used).
func startProc(t *testing.T, dir, name string, stdout *os.File, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	errFile, err := os.Create(filepath.Join(dir, name+".stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	p.stderrPath = errFile.Name()
	if stdout == nil {
		f, err := os.Create(filepath.Join(dir, name+".stdout"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		p.stdoutPath = f.Name()
		stdout = f
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout = stdout
	p.cmd.Stderr = errFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t.Logf("starting %s: %s %s", name, bin, strings.Join(args, " "))
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait() // the status is in cmd.ProcessState
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			// Kill the whole group: with --exec it holds the fixture too.
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				t.Errorf("%s (pid %d) survived SIGKILL", name, p.cmd.Process.Pid)
			}
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, p.stderr())
			if p.stdoutPath != "" {
				t.Logf("%s stdout:\n%s", name, clip(readFileString(p.stdoutPath), 4000))
			}
		}
	})
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("sending %v to %s: %v", sig, p.name, err)
	}
}

func (p *proc) stderr() string { return readFileString(p.stderrPath) }

// stdout is what the process wrote, unless the caller supplied its stdout.
func (p *proc) stdout() string {
	if p.stdoutPath == "" {
		return ""
	}
	return readFileString(p.stdoutPath)
}

// waitExit waits for the process to end and returns its exit code, failing
// the test if it takes longer than timeout or is killed by a signal.
func (p *proc) waitExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %v", p.name, timeout)
	}
	if ws, ok := p.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Fatalf("%s was killed by %v", p.name, ws.Signal())
	}
	return p.state.ExitCode()
}

// expectExit waits and checks the exit code.
func (p *proc) expectExit(t *testing.T, timeout time.Duration, want int) {
	t.Helper()
	if got := p.waitExit(t, timeout); got != want {
		t.Fatalf("%s exited with %d, want %d", p.name, got, want)
	}
}

// waitStderrLine waits for a stderr line containing substr, such as otrace's
// "otrace: attached N probes to PID ..." readiness line.
func (p *proc) waitStderrLine(t *testing.T, substr string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(p.stderr(), "\n") {
			if strings.Contains(line, substr) {
				return line
			}
		}
		if p.exited() {
			t.Fatalf("%s exited (%v) before printing a line with %q", p.name, p.state, substr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s printed no line with %q within %v", p.name, substr, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitPortFile waits for the fixture's port file; watch lists processes
// whose early death means it will never appear.
func waitPortFile(t *testing.T, path string, watch ...*proc) int {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		if b, err := os.ReadFile(path); err == nil {
			port, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil || port <= 0 || port > 65535 {
				t.Fatalf("port file %s holds %q", path, b)
			}
			return port
		}
		for _, p := range watch {
			if p.exited() {
				t.Fatalf("%s exited (%v) before %s appeared", p.name, p.state, path)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %v", path, readyTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readPidFile(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Fatalf("pid file %s holds %q", path, b)
	}
	return pid
}

// runs reports whether pid is (still) a process running exe; comparing the
// executable guards against pid reuse.
func runs(pid int, exe string) bool {
	got, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return err == nil && sameFile(got, exe)
}

// killOnCleanup kills pid at the end of the test if it still runs exe. It
// covers a fixture that otrace --exec'd into a process group of its own.
func killOnCleanup(t *testing.T, pid int, exe string) {
	t.Cleanup(func() {
		if runs(pid, exe) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// startFixture runs the fixture directly (for the -p tests) and waits until
// it listens; it returns the process and its port.
func startFixture(t *testing.T, dir string, fx fixtureInfo) (*proc, int) {
	t.Helper()
	portFile := filepath.Join(dir, "port")
	p := startProc(t, dir, "fixture", nil, fx.path, "-portfile", portFile)
	return p, waitPortFile(t, portFile, p)
}

// outputLine is one decoded line of otrace output.
type outputLine struct {
	n     int
	td    ptrace.Traces
	spans []otlp.Span
}

// checkLine applies the per-line contract: one resourceSpans per traced
// process, and these tests trace exactly one.
func checkLine(t *testing.T, l outputLine) {
	t.Helper()
	if n := l.td.ResourceSpans().Len(); n != 1 {
		t.Errorf("output line %d has %d resourceSpans, want 1 (one per traced process)", l.n, n)
	}
}

// readOutput decodes an otrace output file, failing on any invalid line.
func readOutput(t *testing.T, path string) []otlp.Span {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("otrace output: %v", err)
	}
	defer f.Close()
	var spans []otlp.Span
	lines := 0
	err = otlp.ReadLines(f,
		func(n int, td ptrace.Traces) error {
			l := outputLine{n: n, td: td, spans: otlp.Flatten(td)}
			checkLine(t, l)
			spans = append(spans, l.spans...)
			lines++
			return nil
		},
		func(e *otlp.LineError) { t.Errorf("%s:%v", path, e) })
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	t.Logf("%s: %d lines, %d spans", path, lines, len(spans))
	if t.Failed() {
		t.Logf("%s starts with:\n%s", path, clip(readFileString(path), 4000))
	}
	return spans
}

var summaryRE = regexp.MustCompile(`(?m)^otrace: (\d+) spans written, (\d+) lost\b.*$`)

// checkSummary checks otrace's single exit summary line and that it counts
// the spans we found.
func checkSummary(t *testing.T, stderr string, spans int) {
	t.Helper()
	m := summaryRE.FindAllStringSubmatch(stderr, -1)
	if len(m) != 1 {
		t.Errorf("want exactly one summary line %q on stderr, found %d", "otrace: N spans written, M lost (...)", len(m))
		return
	}
	if written, _ := strconv.Atoi(m[0][1]); written != spans {
		t.Errorf("summary %q says %d spans written, output has %d", m[0][0], written, spans)
	}
}

// freePid returns a pid that no process has, from the top of the pid range
// where the kernel rarely hands pids out.
func freePid(t *testing.T) int {
	t.Helper()
	max := 32768
	if b, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			max = n
		}
	}
	for pid := max - 1; pid > max-10000 && pid > 1; pid-- {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return pid
		}
	}
	t.Fatal("no free pid found")
	return 0
}

func readFileString(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("\n... (%d more bytes)", len(s)-n)
}

// sameFile reports whether two paths name the same file.
func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// hasLinePrefix reports whether some line of s starts with prefix.
func hasLinePrefix(s, prefix string) bool {
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}

// tracedFixture starts the fixture server and attaches otrace to it, writing
// spans to the returned file (extra: more otrace options). It skips when
// OTRACE_BIN is unset and needs root.
func tracedFixture(t *testing.T, extra ...string) (target *proc, port int, otrace *proc, out string) {
	t.Helper()
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	target, port = startFixture(t, dir, fx)
	out = filepath.Join(dir, "out.jsonl")
	otrace = attachPID(t, dir, bin, target.pid(), nil, append([]string{"-o", out}, extra...)...)
	return target, port, otrace, out
}
