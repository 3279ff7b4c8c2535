package integration

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"otrace.test/gotests/internal/otlp"
)

// TestExec: otrace --exec starts the fixture with probes already attached,
// forwards SIGTERM to it and exits with its status.
func TestExec(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	portFile := filepath.Join(dir, "port")
	pidFile := filepath.Join(dir, "pid")
	out := filepath.Join(dir, "out.jsonl")

	// Our options come before --exec: everything after PROG goes to PROG.
	otrace := startProc(t, dir, "otrace", nil, bin,
		"-o", out, "--exec", fx.path, "-portfile", portFile, "-pidfile", pidFile)
	port := waitPortFile(t, portFile, otrace)
	pid := readPidFile(t, pidFile)
	killOnCleanup(t, pid, fx.path)
	if pid == otrace.pid() {
		t.Fatalf("fixture runs as otrace's own pid %d; --exec must fork a child", pid)
	}

	reqs := mixedRequests(45)
	client := newClient()
	sendAll(t, client, port, reqs)
	client.CloseIdleConnections()

	otrace.signal(t, syscall.SIGTERM)
	otrace.expectExit(t, exitTimeout, 0) // the fixture's own status after a graceful stop
	if runs(pid, fx.path) {
		t.Errorf("fixture (pid %d) still runs after otrace exited; otrace must wait for it", pid)
	}

	spans := readOutput(t, out)
	checkServerSpans(t, spans, reqs, serverEnv{port: port, hasRoute: fx.hasRoute})
	checkResource(t, spans, resourceWant{serviceName: filepath.Base(fx.path), pid: pid, fx: fx})
	checkSummary(t, otrace.stderr(), len(spans))
	if s := otrace.stdout(); s != "" {
		t.Errorf("stdout must stay empty with -o (the fixture prints nothing either), got %q", clip(s, 500))
	}
}

// attachPID starts otrace -p on a running fixture and waits until it says
// it is attached.
func attachPID(t *testing.T, dir string, bin string, pid int, stdout *os.File, extra ...string) *proc {
	t.Helper()
	args := append([]string{"-p", strconv.Itoa(pid)}, extra...)
	p := startProc(t, dir, "otrace", stdout, bin, args...)
	line := p.waitStderrLine(t, "attached", readyTimeout)
	t.Logf("otrace ready: %s", line)
	return p
}

// startExec starts argv (otrace and its options, or a wrapper running it
// with these arguments) with --exec prog and progArgs, prog being a fixture
// server, and waits until it listens. It returns otrace, the port and the
// program's PID; the program is killed at cleanup if it still runs.
func startExec(t *testing.T, dir string, stdout *os.File, argv []string, prog string, progArgs ...string) (*proc, int, int) {
	t.Helper()
	portFile, pidFile := filepath.Join(dir, "port"), filepath.Join(dir, "pid")
	argv = append(append(argv, "--exec", prog), progArgs...)
	argv = append(argv, "-portfile", portFile, "-pidfile", pidFile)
	otrace := startProc(t, dir, "otrace", stdout, argv[0], argv[1:]...)
	port := waitPortFile(t, portFile, otrace)
	pid := readPidFile(t, pidFile)
	killOnCleanup(t, pid, prog)
	return otrace, port, pid
}

// sendMixed sends n mixed requests to port on fresh connections it closes
// after, so that every span has ended; it returns them.
func sendMixed(t *testing.T, port, n int) []*request {
	t.Helper()
	reqs := mixedRequests(n)
	client := newClient()
	sendAll(t, client, port, reqs)
	client.CloseIdleConnections()
	return reqs
}

// TestAttachPID: otrace -p attaches to a running fixture, ends on SIGINT
// without disturbing it, and honours --service-name.
func TestAttachPID(t *testing.T) {
	target, port, otrace, out := tracedFixture(t, "--service-name", "svc-under-test")
	fx := fixture(t)
	reqs := mixedRequests(40)
	client := newClient()
	sendAll(t, client, port, reqs)

	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)

	// Detaching must leave the target alive and serving.
	after := newRequest("GET", "/hello", 200, "/hello")
	if err := send(client, port, after); err != nil {
		t.Errorf("fixture no longer serves after otrace exited: %v", err)
	}
	if target.exited() {
		t.Errorf("fixture exited (%v) when otrace detached", target.state)
	}

	spans := readOutput(t, out)
	checkServerSpans(t, spans, reqs, serverEnv{port: port, hasRoute: fx.hasRoute})
	checkResource(t, spans, resourceWant{serviceName: "svc-under-test", pid: target.pid(), fx: fx})
	checkSummary(t, otrace.stderr(), len(spans))
}

// TestTargetExit: when the traced process exits, otrace writes what it has
// and exits 0 on its own.
func TestTargetExit(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	target, port := startFixture(t, dir, fx)
	out := filepath.Join(dir, "out.jsonl")

	otrace := attachPID(t, dir, bin, target.pid(), nil, "-o", out)
	reqs := []*request{
		newRequest("GET", "/hello", 200, "/hello"),
		newRequest("POST", "/items", 201, "/items"),
		newRequest("GET", "/status/503", 503, "/status/{code}"),
	}
	client := newClient()
	sendAll(t, client, port, reqs)
	client.CloseIdleConnections()

	target.signal(t, syscall.SIGTERM)
	target.expectExit(t, exitTimeout, 0)
	otrace.expectExit(t, exitTimeout, 0)

	spans := readOutput(t, out)
	checkServerSpans(t, spans, reqs, serverEnv{port: port, hasRoute: fx.hasRoute})
	checkResource(t, spans, resourceWant{serviceName: filepath.Base(fx.path), pid: target.pid(), fx: fx})
	checkSummary(t, otrace.stderr(), len(spans))
}

// stdoutLine is one line otrace wrote to its stdout pipe.
type stdoutLine struct {
	at       time.Time
	data     []byte
	complete bool // ended with '\n'
}

// TestStdoutPipe: without -o, otrace writes line-buffered OTLP lines to a
// pipe promptly, and exits 0 once the reader goes away.
func TestStdoutPipe(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	target, port := startFixture(t, dir, fx)

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close() })
	otrace := attachPID(t, dir, bin, target.pid(), pw)
	pw.Close() // only otrace holds the write end now

	lines := make(chan stdoutLine, 1000)
	go func() {
		defer close(lines)
		br := bufio.NewReader(pr)
		for {
			b, err := br.ReadBytes('\n')
			if len(b) > 0 {
				lines <- stdoutLine{at: time.Now(), data: b, complete: err == nil}
			}
			if err != nil {
				return // EOF, or pr closed below
			}
		}
	}()

	var reqs []*request
	client := newClient()
	for batch := 0; batch < 3; batch++ {
		if batch > 0 {
			time.Sleep(300 * time.Millisecond)
		}
		b := []*request{
			newRequest("GET", "/hello", 200, "/hello"),
			newRequest("GET", fmt.Sprintf("/items/%d", batch), 200, "/items/{id}"),
			newRequest("POST", "/items", 201, "/items"),
			newRequest("GET", "/status/500", 500, "/status/{code}"),
			newRequest("PUT", "/nowrite", 200, "/nowrite"),
		}
		sendAll(t, client, port, b)
		reqs = append(reqs, b...)
	}

	// Collect lines until every request has its span (or time runs out).
	var spans []otlp.Span
	deadline := time.After(exitTimeout)
collect:
	for n := 1; len(spans) < len(reqs); n++ {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("otrace closed stdout after %d spans (%v)", len(spans), otrace.state)
			}
			if !l.complete {
				t.Fatalf("stdout line %d has no newline: %q", n, clip(string(l.data), 500))
			}
			td, err := otlp.Decode(l.data[:len(l.data)-1])
			if err != nil {
				t.Fatalf("stdout line %d: %v\n%s", n, err, clip(string(l.data), 2000))
			}
			ol := outputLine{n: n, td: td, spans: otlp.Flatten(td)}
			checkLine(t, ol)
			if n == 1 {
				if lag := l.at.Sub(reqs[0].sent); lag > 2*time.Second {
					t.Errorf("first span arrived %v after its request, want <= 2s (flush every 100 ms, line-buffered)", lag)
				} else {
					t.Logf("first span arrived %v after its request", lag)
				}
			}
			spans = append(spans, ol.spans...)
		case <-deadline:
			t.Errorf("only %d of %d spans arrived within %v", len(spans), len(reqs), exitTimeout)
			break collect
		}
	}
	checkServerSpans(t, spans, reqs, serverEnv{port: port, hasRoute: fx.hasRoute})
	checkResource(t, spans, resourceWant{serviceName: filepath.Base(fx.path), pid: target.pid(), fx: fx})

	// Close the read end; the next span otrace writes hits EPIPE/SIGPIPE,
	// which must end it cleanly.
	pr.Close()
	if err := send(client, port, newRequest("GET", "/hello", 200, "/hello")); err != nil {
		t.Fatal(err)
	}
	otrace.expectExit(t, exitTimeout, 0)
	if m := summaryRE.FindString(otrace.stderr()); m == "" {
		t.Errorf("no summary line on stderr after the pipe closed")
	} else {
		t.Logf("summary: %s", m)
	}
	if target.exited() {
		t.Errorf("fixture exited (%v) when otrace's output pipe closed", target.state)
	}
}

// TestConcurrentRequests: 64 requests in flight at once must give 64 spans,
// each with its own request's path and status (no mixed-up goroutines).
// OTRACE_CONCURRENT_REQUESTS asks for more, 128 in flight at a time: the
// guest of test/vm/run-propagate.sh sends thousands with threads preempted
// inside otrace's programs, where a record built in a buffer another thread
// also builds in would show another request's path.
func TestConcurrentRequests(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	target, port := startFixture(t, dir, fx)
	out := filepath.Join(dir, "out.jsonl")

	otrace := attachPID(t, dir, bin, target.pid(), nil, "-o", out)
	n := 64
	if v := os.Getenv("OTRACE_CONCURRENT_REQUESTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("OTRACE_CONCURRENT_REQUESTS=%q: want a positive number", v)
		}
	}
	var reqs []*request
	for i := 0; i < n; i++ {
		// Alternate methods so that a span taking another request's data
		// shows up in the method and status too, not only the path.
		if i%2 == 0 {
			reqs = append(reqs, newRequest("GET", fmt.Sprintf("/items/%d", i), 200, "/items/{id}"))
		} else {
			reqs = append(reqs, newRequest("DELETE", fmt.Sprintf("/items/%d", i), 204, "/items/{id}"))
		}
	}
	// The spans are checked, not the latency: an emulated (TCG) guest on a
	// slow host took more than newClient's 5 s to answer some of 256
	// requests sent at once, so these wait up to a minute.
	c := newClient()
	c.Timeout = time.Minute
	const batch = 128 // at most 128 at once: the guest's file limits and speed
	for i := 0; i < len(reqs); i += batch {
		sendConcurrently(t, c, port, reqs[i:min(i+batch, len(reqs))])
	}

	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)
	spans := readOutput(t, out)
	checkServerSpans(t, spans, reqs, serverEnv{port: port, hasRoute: fx.hasRoute})
	checkSummary(t, otrace.stderr(), len(spans))
	t.Logf("%d requests, %d spans; %s", len(reqs), len(spans), summaryRE.FindString(otrace.stderr()))
}

// TestExecStdout: without -o, the --exec'd program's stdout goes to otrace's
// stderr, so that stdout carries spans only; with -o, the program keeps
// otrace's stdout.
func TestExecStdout(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	const said = "a line the program writes on its stdout"
	for _, withO := range []bool{false, true} {
		t.Run(fmt.Sprintf("-o=%v", withO), func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out.jsonl")
			argv := []string{bin}
			if withO {
				argv = append(argv, "-o", out)
			}
			otrace, port, _ := startExec(t, dir, nil, argv, fx.path, "-say", said)
			reqs := sendMixed(t, port, 5)
			otrace.signal(t, syscall.SIGTERM)
			otrace.expectExit(t, exitTimeout, 0)

			stdout, stderr := otrace.stdout(), otrace.stderr()
			if withO {
				if strings.TrimSpace(stdout) != said {
					t.Errorf("with -o, stdout is %q, want the program's line", clip(stdout, 500))
				}
			} else {
				if strings.Contains(stdout, said) {
					t.Errorf("the program's line is among the spans on stdout")
				}
				if !strings.Contains(stderr, said) {
					t.Errorf("the program's line is not on otrace's stderr")
				}
				out = otrace.stdoutPath
			}
			spans := readOutput(t, out)
			checkServerSpans(t, spans, reqs, serverEnv{port: port, hasRoute: fx.hasRoute})
			checkSummary(t, stderr, len(spans))
		})
	}
}

// sigIgnored reports whether pid ignores sig (SigIgn in /proc/PID/status).
func sigIgnored(t *testing.T, pid int, sig syscall.Signal) bool {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return mask&(1<<(uint(sig)-1)) != 0
		}
	}
	t.Fatalf("no SigIgn in /proc/%d/status", pid)
	return false
}

// TestExecIgnoredSIGINT: started as a script starts a background job, with
// SIGINT ignored, otrace still takes SIGINT (blocked, it is queued all the
// same), and the program keeps the ignored SIGINT as it would without
// otrace. The first SIGINT is passed on (and ignored); the second makes
// otrace detach and exit 13, saying that it leaves the program running; it
// waited forever before.
func TestExecIgnoredSIGINT(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	wrapper := []string{"sh", "-c", fmt.Sprintf(`trap "" INT && exec %s -o %s "$@"`, bin, out), "sh"}
	otrace, port, pid := startExec(t, dir, nil, wrapper, fx.path)
	if !sigIgnored(t, pid, syscall.SIGINT) {
		t.Errorf("the program does not ignore SIGINT, which otrace was started with")
	}
	if sigIgnored(t, pid, syscall.SIGPIPE) {
		t.Errorf("the program ignores SIGPIPE, as otrace does for itself")
	}
	reqs := sendMixed(t, port, 5)
	otrace.signal(t, syscall.SIGINT)
	time.Sleep(time.Second)
	if otrace.exited() {
		t.Fatalf("otrace exited (%v) on the first SIGINT, which the program ignores", otrace.state)
	}
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 13)
	if !runs(pid, fx.path) {
		t.Errorf("the program is gone; otrace must leave it running")
	}
	if !strings.Contains(otrace.stderr(), fmt.Sprintf("PID %d did not exit after SIGINT", pid)) ||
		!strings.Contains(otrace.stderr(), "leaves it running") {
		t.Errorf("otrace does not say what it did to the program")
	}
	spans := readOutput(t, out)
	checkServerSpans(t, spans, reqs, serverEnv{port: port, hasRoute: fx.hasRoute})
	checkSummary(t, otrace.stderr(), len(spans))
}

// TestExecOutputClosed: with --exec, when the reader of stdout goes away
// the probes go, but otrace stays the program's parent (it neither stops it
// nor leaves it to init) and exits with its status once it exits.
func TestExecOutputClosed(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	otrace, port, pid := startExec(t, dir, pw, []string{bin}, fx.path)
	pw.Close()
	client := newClient()
	if err := send(client, port, newRequest("GET", "/hello", 200, "/hello")); err != nil {
		t.Fatal(err)
	}
	pr.SetReadDeadline(time.Now().Add(exitTimeout))
	if _, err := bufio.NewReader(pr).ReadBytes('\n'); err != nil {
		t.Fatalf("no first line on stdout: %v", err)
	}
	pr.Close()
	sendUntilClosed := time.Now().Add(2 * readyTimeout)
	for !strings.Contains(otrace.stderr(), "probes detached") {
		if time.Now().After(sendUntilClosed) || otrace.exited() {
			t.Fatalf("otrace did not say that it detached (%v):\n%s", otrace.state, otrace.stderr())
		}
		if err := send(client, port, newRequest("GET", "/hello", 200, "/hello")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if otrace.exited() {
		t.Fatalf("otrace exited (%v) while the program runs", otrace.state)
	}
	if ppid := parentOf(t, pid); ppid != otrace.pid() {
		t.Errorf("the program's parent is %d, want otrace (%d)", ppid, otrace.pid())
	}
	otrace.signal(t, syscall.SIGTERM)
	otrace.expectExit(t, exitTimeout, 0)
	if runs(pid, fx.path) {
		t.Errorf("the program still runs after SIGTERM")
	}
}
