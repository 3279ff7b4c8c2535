package integration

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The lifecycle tests: every request the target served is accounted for on
// otrace's exit line (written, or lost with a reason) when otrace stops with
// requests in flight, when the target dies, and when it execs another image.

// servicesProc is the services fixture, started by a test (or by otrace
// --exec) with its port and PID files in dir.
type servicesProc struct {
	pid      int
	port     int
	grpcPort int
}

// servicesArgs are the fixture's flags for port and PID files in dir, no
// HTTP/2 endpoint, a gRPC server on a port of its own.
func servicesArgs(dir string) []string {
	return []string{"-port-file", filepath.Join(dir, "port"), "-pid-file", filepath.Join(dir, "pid"),
		"-h2-addr", "", "-grpc-addr", "127.0.0.1:0"}
}

// waitServices waits for the fixture whose files are in dir, which p runs
// or is otrace running it.
func waitServices(t *testing.T, dir string, p *proc) servicesProc {
	t.Helper()
	s := servicesProc{port: waitPortFile(t, filepath.Join(dir, "port"), p)}
	s.pid = readPidFile(t, filepath.Join(dir, "pid"))
	m := grpcListenRE.FindAllStringSubmatch(p.stderr(), -1)
	if m == nil {
		t.Fatalf("no gRPC port in the fixture's stderr:\n%s", p.stderr())
	}
	s.grpcPort, _ = strconv.Atoi(m[len(m)-1][1])
	return s
}

// startServices runs the services fixture fixturePath itself (for -p).
func startServices(t *testing.T, dir, fixturePath string) (*proc, servicesProc) {
	t.Helper()
	p := startProc(t, dir, "services", nil, fixturePath, servicesArgs(dir)...)
	return p, waitServices(t, dir, p)
}

// exitCounts is otrace's exit line: spans written, lost, each reason.
type exitCounts struct {
	written, lost int
	reasons       map[string]int
	noStart       int // requests in flight at attach, not traced
	line          string
}

var (
	reasonRE  = regexp.MustCompile(`(\w+)=(\d+)`)
	noStartRE = regexp.MustCompile(`(\d+) requests in flight at attach not traced`)
)

func exitLine(t *testing.T, stderr string) exitCounts {
	t.Helper()
	m := summaryRE.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no exit line on otrace's stderr:\n%s", stderr)
	}
	c := exitCounts{reasons: map[string]int{}, line: m[0]}
	c.written, _ = strconv.Atoi(m[1])
	c.lost, _ = strconv.Atoi(m[2])
	for _, r := range reasonRE.FindAllStringSubmatch(m[0], -1) {
		c.reasons[r[1]], _ = strconv.Atoi(r[2])
	}
	if n := noStartRE.FindStringSubmatch(m[0]); n != nil {
		c.noStart, _ = strconv.Atoi(n[1])
	}
	return c
}

// checkAccounting: the exit line accounts for served requests' spans, the
// spans in the output are the ones it says were written, and inFlight of
// them were lost as in flight (-1: any number).
func checkAccounting(t *testing.T, c exitCounts, spans, served, inFlight int) {
	t.Helper()
	if c.written != spans {
		t.Errorf("%q: %d written, the output has %d spans", c.line, c.written, spans)
	}
	if c.written+c.lost != served {
		t.Errorf("%q: written + lost = %d, want the %d spans of the requests served", c.line, c.written+c.lost, served)
	}
	if inFlight >= 0 && c.reasons["in_flight"] != inFlight {
		t.Errorf("%q: in_flight=%d, want %d", c.line, c.reasons["in_flight"], inFlight)
	}
	if c.noStart != 0 {
		t.Errorf("%q: requests counted in flight at attach, but every one began after it", c.line)
	}
}

// inFlight starts requests to paths that stay in flight; wait waits for
// their answers (or failures: the target may be gone).
type inFlight struct {
	wg   sync.WaitGroup
	errs chan error
}

func startInFlight(t *testing.T, port int, paths ...string) *inFlight {
	t.Helper()
	f := &inFlight{errs: make(chan error, len(paths))}
	client := &http.Client{Timeout: 3 * time.Minute, Transport: &http.Transport{Proxy: nil}}
	for _, p := range paths {
		f.wg.Add(1)
		go func(p string) {
			defer f.wg.Done()
			resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, p))
			if err == nil {
				resp.Body.Close()
			}
			f.errs <- err
		}(p)
	}
	return f
}

func (f *inFlight) wait() { f.wg.Wait() }

// settle gives requests just sent time to reach their handlers.
func settle() { time.Sleep(500 * time.Millisecond) }

// The requests a lifecycle test leaves in flight: two HTTP requests held by
// the handler, and one whose handler holds a gRPC stream open to the
// fixture's own server: 5 spans in flight (3 HTTP server, gRPC client and
// server).
var heldPaths = []string{"/hold?ms=30000", "/hold?ms=30000", "/grpc-hold?ms=30000"}

const heldSpans = 5

// TestInFlightAtEnd: otrace stopped by SIGTERM or SIGINT while requests are
// in flight counts them (in_flight); the exit line's written + lost is
// every span of the requests the target served.
func TestInFlightAtEnd(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := grpcFixture(t, "services", newestGRPC)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			target, svc := startServices(t, dir, fx)
			out := filepath.Join(dir, "out.jsonl")
			otrace := attachPID(t, dir, bin, target.pid(), nil, "-o", out)
			client := newClient()
			for i := 0; i < 3; i++ {
				getOK(t, client, svc.port, "/hello")
			}
			getOK(t, client, svc.port, "/grpc?op=ok") // HTTP server, gRPC client and server
			held := startInFlight(t, svc.port, heldPaths...)
			settle()
			otrace.signal(t, sig)
			otrace.expectExit(t, exitTimeout+20*time.Second, 0)
			c := exitLine(t, otrace.stderr())
			checkAccounting(t, c, len(readOutput(t, out)), 3+3+heldSpans, heldSpans)
			target.signal(t, syscall.SIGTERM) // the held requests end, untraced
			held.wait()
		})
	}
}

// TestInFlightTargetKilled: the target killed with requests in flight; its
// spans in flight are counted, and otrace ends.
func TestInFlightTargetKilled(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := grpcFixture(t, "services", newestGRPC)
	dir := t.TempDir()
	target, svc := startServices(t, dir, fx)
	out := filepath.Join(dir, "out.jsonl")
	otrace := attachPID(t, dir, bin, target.pid(), nil, "-o", out)
	client := newClient()
	for i := 0; i < 4; i++ {
		getOK(t, client, svc.port, "/hello")
	}
	held := startInFlight(t, svc.port, heldPaths...)
	settle()
	target.signal(t, syscall.SIGKILL)
	held.wait()
	otrace.expectExit(t, exitTimeout+20*time.Second, 0)
	c := exitLine(t, otrace.stderr())
	checkAccounting(t, c, len(readOutput(t, out)), 4+heldSpans, heldSpans)
}

// execPath is the fixture's /exec request: replace its image with path,
// run with args (args[0] is argv[0]).
func execPath(path string, args ...string) string {
	q := url.Values{"path": {path}, "arg": args}
	return "/exec?" + q.Encode()
}

// TestExecFollowed: a traced program that execs keeps being traced. It
// restarts itself in place (/proc/self/exe, as graceful restarts do), then
// through a shell (not Go: otrace says it cannot trace it, and counts it),
// which execs the fixture again, then hands over to another Go program (the
// net/http fixture). The spans of requests cut short by an exec are counted
// in flight. Both for -p and for --exec; and for -p with the old image's
// probes removed slowly (OTRACE_TEST_DETACH_DELAY_MS, as on a loaded host):
// still there when the same file runs again, each hit ran the program
// twice and a request was counted twice (unfinished, then in flight). The
// old probes are silenced before they are removed (their attach's token):
// no exec waits for them to go (an exec into the same file once waited the
// whole removal; into another file, too, and the new program's first
// requests went untraced).
func TestExecFollowed(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := grpcFixture(t, "services", newestGRPC)
	httpFx := fixture(t)
	for _, mode := range []string{"pid", "exec", "pid-slow-removal"} {
		t.Run(mode, func(t *testing.T) {
			// the old image's probes take this long to go: they fire for
			// the new one meanwhile, silenced (attach.c)
			const removal = 5 * time.Second
			slow := mode == "pid-slow-removal"
			if slow {
				t.Setenv("OTRACE_TEST_DETACH_DELAY_MS", strconv.Itoa(int(removal.Milliseconds())))
				mode = "pid"
			}
			dir := t.TempDir()
			out := filepath.Join(dir, "out.jsonl")
			var otrace, target *proc
			var svc servicesProc
			if mode == "pid" {
				target, svc = startServices(t, dir, fx)
				otrace = attachPID(t, dir, bin, target.pid(), nil, "-o", out)
			} else {
				args := append([]string{"-o", out, "--exec", fx}, servicesArgs(dir)...)
				otrace = startProc(t, dir, "otrace", nil, bin, args...)
				target = otrace
				svc = waitServices(t, dir, otrace)
			}
			pid := svc.pid
			t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
			client := newClient()
			served := 0
			get := func(port int, path string, spans int) {
				t.Helper()
				getOK(t, client, port, path)
				served += spans
			}
			// the next image of the fixture, with its files in a directory of its own
			next := func(name string) (string, []string) {
				d := filepath.Join(dir, name)
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
				return d, append([]string{"services"}, servicesArgs(d)...)
			}
			samePID := func(s servicesProc) {
				t.Helper()
				if s.pid != pid {
					t.Fatalf("the fixture's PID changed over its exec: %d, then %d", pid, s.pid)
				}
			}
			get(svc.port, "/hello", 1)
			get(svc.port, "/grpc?op=ok", 3)

			// 1. in place, the same executable, with requests in flight
			d, args := next("self")
			held := startInFlight(t, svc.port, heldPaths...)
			settle()
			execAt := time.Now()
			get(svc.port, execPath("/proc/self/exe", args...), 1)
			served += heldSpans
			svc = waitServices(t, d, target)
			samePID(svc)
			held.wait()
			waitStderrCount(t, otrace, "exec'd", 1)
			sameFile := time.Since(execAt)
			client.CloseIdleConnections()
			get(svc.port, "/hello", 1)
			get(svc.port, "/grpc?op=ok", 3)

			// 2. a shell, which execs the fixture again
			d, args = next("shell")
			// it waits a little, so that otrace sees the shell itself run
			shell := append([]string{"sh", "-c", `sleep 0.5; exec "$0" "$@"`, fx}, args[1:]...)
			get(svc.port, execPath("/bin/sh", shell...), 1)
			svc = waitServices(t, d, target)
			samePID(svc)
			waitStderrCount(t, otrace, "exec'd", 3)
			if !strings.Contains(otrace.stderr(), "not a Go program") {
				t.Errorf("otrace did not say the shell cannot be traced:\n%s", otrace.stderr())
			}
			client.CloseIdleConnections()
			get(svc.port, "/hello", 1)

			// 3. another Go program: the net/http fixture
			portFile := filepath.Join(dir, "http-port")
			held = startInFlight(t, svc.port, "/hold?ms=30000")
			settle()
			execAt = time.Now()
			get(svc.port, execPath(httpFx.path, "httpserver", "-portfile", portFile), 1)
			served++
			httpPort := waitPortFile(t, portFile, target)
			held.wait()
			waitStderrCount(t, otrace, "exec'd", 4)
			otherFile := time.Since(execAt)
			t.Logf("exec to traced: the same file %v, another file %v", sameFile, otherFile)
			// neither waits for the old image's probes to go (about 0.3 s each
			// here; 3.3 s for the same file when it waited)
			for _, e := range []struct {
				what string
				took time.Duration
			}{{"the same file", sameFile}, {"another file", otherFile}} {
				if slow && e.took > removal/2 {
					t.Errorf("the exec into %s was traced %v after it, with the old probes' removal "+
						"taking %v: it waited for them to go", e.what, e.took, removal)
				}
			}
			client.CloseIdleConnections()
			get(httpPort, "/hello", 1)
			get(httpPort, "/items/7", 1)

			// with --exec, the signal goes on to the program, whose status is otrace's
			otrace.signal(t, syscall.SIGTERM)
			otrace.expectExit(t, exitTimeout+20*time.Second, 0)
			spans := readOutput(t, out)
			c := exitLine(t, otrace.stderr())
			checkAccounting(t, c, len(spans), served, heldSpans+1)
			paths := map[string]int{}
			for _, s := range spans {
				if p, ok := s.Attributes["url.path"].(string); ok {
					paths[p]++
				}
			}
			if paths["/items/7"] != 1 || paths["/hello"] != 4 {
				t.Errorf("spans by url.path %v: want /hello 4 times (each image) and /items/7 once (the last one)", paths)
			}
			if !regexp.MustCompile(`1 exec(s)? into a program otrace cannot trace`).MatchString(otrace.stderr()) {
				t.Errorf("the exit lines do not count the exec into the shell:\n%s", otrace.stderr())
			}
		})
	}
}

// waitStderrCount waits until p's stderr has n lines containing substr.
func waitStderrCount(t *testing.T, p *proc, substr string, n int) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for strings.Count(p.stderr(), substr) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s printed %d lines with %q within %v, want %d:\n%s", p.name,
				strings.Count(p.stderr(), substr), substr, readyTimeout, n, p.stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInFlightEvicted: with in-flight maps of 64 entries (--max-inflight),
// a request held while others start 64 goroutines at once, each making a
// call (goroutines that live at the same time: Go reuses those that ended),
// is pushed out of the LRU map of goroutines. Where the kernel lets otrace
// watch evictions, that is counted (evicted) and the exit line accounts for
// every request; where it does not (lockdown refuses the fexit program, as
// here), otrace warns that the map filled up.
func TestInFlightEvicted(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := grpcFixture(t, "services", newestGRPC)
	dir := t.TempDir()
	target, svc := startServices(t, dir, fx)
	out := filepath.Join(dir, "out.jsonl")
	otrace := attachPID(t, dir, bin, target.pid(), nil, "-v", "-o", out, "--max-inflight", "64")
	held := startInFlight(t, svc.port, "/hold?ms=60000")
	settle()
	const fanouts, calls = 3, 64
	client := newClient()
	for i := 0; i < fanouts; i++ {
		getOK(t, client, svc.port, fmt.Sprintf("/fanout?n=%d&url=%s", calls,
			url.QueryEscape(fmt.Sprintf("http://127.0.0.1:%d/hello", svc.port))))
	}
	unwatched := strings.Contains(otrace.stderr(), "the eviction watch (fexit/htab_lru_map_delete_node) failed")
	var stuck *inFlight
	if unwatched {
		// Without the watch otrace looks at how full the maps are when it
		// sweeps and when it ends: a fanout whose calls are all held when
		// tracing ends fills them then.
		stuck = startInFlight(t, svc.port, fmt.Sprintf("/fanout?n=%d&url=%s", calls,
			url.QueryEscape(fmt.Sprintf("http://127.0.0.1:%d/hold?ms=4000", svc.port))))
		time.Sleep(1500 * time.Millisecond)
	}
	otrace.signal(t, syscall.SIGTERM)
	otrace.expectExit(t, exitTimeout+20*time.Second, 0)
	c := exitLine(t, otrace.stderr())
	spans := len(readOutput(t, out))
	// the held request, and each fanout's server span, its calls and theirs
	served := 1 + fanouts*(1+2*calls)
	if unwatched {
		t.Logf("this kernel refuses the eviction watch: %s", c.line)
		// which map is fuller (the goroutines' or the client calls') is the scheduler's choice
		if !regexp.MustCompile(`BPF map (goroutine_spans|http_client_inflight) is full`).MatchString(otrace.stderr()) {
			t.Errorf("no warning that an in-flight map filled up:\n%s", otrace.stderr())
		}
		if c.written != spans || c.written+c.lost > served+1+2*calls {
			t.Errorf("%q: more spans than the %d of the requests served", c.line, served+1+2*calls)
		}
		stuck.wait()
	} else {
		checkAccounting(t, c, spans, served, -1)
		if c.reasons["evicted"] < 1 {
			t.Errorf("%q: evicted=%d, want the held request at least", c.line, c.reasons["evicted"])
		}
	}
	target.signal(t, syscall.SIGTERM)
	held.wait()
}
