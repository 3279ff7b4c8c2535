package integration

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"otrace.test/gotests/internal/otlp"
)

// summaryCounts reads written and unwritten from otrace's summary line.
func summaryCounts(t *testing.T, stderr string) (written, unwritten int) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^otrace: (\d+) spans written, \d+ lost \(.*\bunwritten=(\d+)\)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no summary line on stderr:\n%s", stderr)
	}
	written, _ = strconv.Atoi(m[1])
	unwritten, _ = strconv.Atoi(m[2])
	return written, unwritten
}

// smallFS mounts a tmpfs of size bytes in a new directory, unmounted at cleanup.
func smallFS(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// sendUntil sends requests to port, one every few milliseconds so that
// output lines stay small, until stop says so (checked between requests) or
// the deadline passes; it returns the requests sent.
func sendUntil(t *testing.T, port int, stop func() bool) int {
	t.Helper()
	client := newClient()
	deadline := time.Now().Add(2 * readyTimeout)
	n := 0
	for !stop() {
		if time.Now().After(deadline) {
			t.Fatalf("still not done after %d requests", n)
		}
		if err := send(client, port, newRequest("GET", fmt.Sprintf("/items/%d", n), 200, "/items/{id}")); err != nil {
			t.Fatal(err)
		}
		n++
		time.Sleep(3 * time.Millisecond)
	}
	client.CloseIdleConnections()
	return n
}

// checkWholeLines: the file ends with a newline, every line is OTLP, and
// the summary counts what it holds.
func checkWholeLines(t *testing.T, path, stderr string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("%s ends in half a line: ...%q", path, b[len(b)-min(len(b), 200):])
	}
	spans := readOutput(t, path)
	if len(spans) == 0 {
		t.Errorf("no whole line before the disk was full")
	}
	checkSummary(t, stderr, len(spans))
	if _, unwritten := summaryCounts(t, stderr); unwritten == 0 {
		t.Errorf("the spans that did not fit are not counted as unwritten")
	}
}

// TestOutputFull: a write error that is not a closed reader ends otrace with
// exit 12 naming the error; the file keeps whole lines only (the line the
// disk took in part is cut off again) and the summary counts what is in it.
// A full tmpfs gives ENOSPC, a file size limit EFBIG (256 blocks of 512 bytes
// in sh: a first batch of a few dozen spans with their resource is one line of
// over 32 KiB, and a limit below it leaves no whole line to check).
func TestOutputFull(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	for _, tc := range []struct {
		name, why string
		run       func(dir, out string, pid int) []string
	}{
		{"ENOSPC", "No space left on device", func(dir, out string, pid int) []string {
			return []string{bin, "-p", strconv.Itoa(pid), "-o", filepath.Join(smallFS(t, 192<<10), "out.jsonl")}
		}},
		{"EFBIG", "File too large", func(dir, out string, pid int) []string {
			return []string{"sh", "-c", fmt.Sprintf("ulimit -f 256 && exec %s -p %d -o %s", bin, pid, out)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target, port := startFixture(t, dir, fx)
			argv := tc.run(dir, filepath.Join(dir, "out.jsonl"), target.pid())
			out := argv[len(argv)-1]
			if tc.name == "EFBIG" {
				out = filepath.Join(dir, "out.jsonl")
			}
			otrace := startProc(t, dir, "otrace", nil, argv[0], argv[1:]...)
			otrace.waitStderrLine(t, "attached", readyTimeout)
			n := sendUntil(t, port, otrace.exited)
			code := otrace.waitExit(t, exitTimeout)
			stderr := otrace.stderr()
			t.Logf("otrace exited %d after %d requests:\n%s", code, n, stderr)
			if code != 12 {
				t.Errorf("exit %d, want 12", code)
			}
			if !strings.Contains(stderr, "cannot write spans to "+out+": "+tc.why) {
				t.Errorf("stderr does not name the file and the error (%s)", tc.why)
			}
			checkWholeLines(t, out, stderr)
			if target.exited() {
				t.Errorf("the traced process exited (%v)", target.state)
			}
		})
	}
}

// TestOutputFullExec: with --exec, a write error detaches the probes and
// leaves the program running, with otrace as its parent until it exits; then
// otrace exits 12.
func TestOutputFullExec(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	out := filepath.Join(smallFS(t, 192<<10), "out.jsonl")
	otrace, port, pid := startExec(t, t.TempDir(), nil, []string{bin, "-o", out}, fx.path)
	detached := func() bool { return strings.Contains(otrace.stderr(), "probes detached") }
	n := sendUntil(t, port, detached)
	t.Logf("detached after %d requests:\n%s", n, otrace.stderr())
	if !strings.Contains(otrace.stderr(), "cannot write spans to "+out+": No space left on device") {
		t.Errorf("stderr does not name the file and the error")
	}
	// Still its parent, still serving.
	time.Sleep(300 * time.Millisecond)
	if otrace.exited() {
		t.Fatalf("otrace exited (%v) while the program runs", otrace.state)
	}
	if err := send(newClient(), port, newRequest("GET", "/hello", 200, "/hello")); err != nil {
		t.Errorf("the program no longer serves: %v", err)
	}
	if ppid := parentOf(t, pid); ppid != otrace.pid() {
		t.Errorf("the program's parent is %d, want otrace (%d)", ppid, otrace.pid())
	}
	otrace.signal(t, syscall.SIGTERM)
	otrace.expectExit(t, exitTimeout, 12)
	if runs(pid, fx.path) {
		t.Errorf("the program still runs after SIGTERM")
	}
	checkWholeLines(t, out, otrace.stderr())
}

// parentOf reads PPid from /proc/PID/status.
func parentOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^PPid:\s+(\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no PPid in /proc/%d/status", pid)
	}
	ppid, _ := strconv.Atoi(string(m[1]))
	return ppid
}

// pipeReader reads whole OTLP lines from otrace's stdout pipe, only when
// asked to.
type pipeReader struct {
	f       *os.File
	br      *bufio.Reader
	partial []byte // a line read up to a deadline, its newline still to come
	spans   int
	lines   int
}

// readFor reads lines until want spans arrived in all, EOF, or the timeout.
func (r *pipeReader) readFor(t *testing.T, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for r.spans < want && time.Now().Before(deadline) {
		r.f.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		b, err := r.br.ReadBytes('\n')
		r.partial = append(r.partial, b...)
		if err == nil {
			td, derr := otlp.Decode(r.partial[:len(r.partial)-1])
			if derr != nil {
				t.Fatalf("stdout line %d: %v", r.lines+1, derr)
			}
			r.spans += len(otlp.Flatten(td))
			r.lines++
			r.partial = nil
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if len(r.partial) > 0 {
			t.Errorf("stdout ends in half a line: %q", clip(string(r.partial), 300))
		}
		return
	}
}

// TestStdoutNonBlocking: a reader that stalls a non-blocking stdout does
// not end tracing; what waits reaches it once it reads again, whole lines
// only; SIGINT still ends otrace while it stalls, and the summary counts
// what it got and what it did not. A pipe gets a line only when empty; a
// socket takes lines in part, polled for POLLOUT, and otrace finishes the
// line begun before it exits.
func TestStdoutNonBlocking(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	for _, kind := range []string{"pipe", "socket"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			target, port := startFixture(t, dir, fx)
			var rd, wr *os.File
			if kind == "pipe" {
				var err error
				if rd, wr, err = os.Pipe(); err != nil {
					t.Fatal(err)
				}
			} else {
				fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
				if err != nil {
					t.Fatal(err)
				}
				syscall.SetNonblock(fds[0], true) // for read deadlines
				// small buffers, so that three batches of spans cannot all fit
				// in them: what waits for the reader must wait
				syscall.SetsockoptInt(fds[1], syscall.SOL_SOCKET, syscall.SO_SNDBUF, 16<<10)
				syscall.SetsockoptInt(fds[0], syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
				rd, wr = os.NewFile(uintptr(fds[0]), "read"), os.NewFile(uintptr(fds[1]), "write")
			}
			t.Cleanup(func() { rd.Close() })
			otrace := attachPID(t, dir, bin, target.pid(), wr)
			// The flag is the open file's, shared with otrace's fd 1.
			if err := syscall.SetNonblock(int(wr.Fd()), true); err != nil {
				t.Fatal(err)
			}
			wr.Close()
			testStalledReader(t, otrace, port, &pipeReader{f: rd, br: bufio.NewReader(rd)}, kind == "socket")
		})
	}
}

func testStalledReader(t *testing.T, otrace *proc, port int, r *pipeReader, finishesLine bool) {
	const batch = 300
	client := newClient()
	sendBatch := func() {
		for i := 0; i < batch; i++ {
			if err := send(client, port, newRequest("GET", "/hello", 200, "/hello")); err != nil {
				t.Fatal(err)
			}
		}
	}
	sendBatch() // nobody reads
	time.Sleep(time.Second)
	if otrace.exited() {
		t.Fatalf("otrace ended (%v) when the reader stalled:\n%s", otrace.state, otrace.stderr())
	}
	r.readFor(t, batch, 2*exitTimeout)
	if r.spans != batch {
		t.Fatalf("%d of %d spans arrived once the reader read again", r.spans, batch)
	}
	// Stalled again, in three lines at least: the first fills the output,
	// the others wait for the reader when SIGINT comes.
	for i := 0; i < 3; i++ {
		sendBatch()
		time.Sleep(300 * time.Millisecond)
	}
	otrace.signal(t, syscall.SIGINT)
	if finishesLine {
		r.readFor(t, 4*batch, exitTimeout) // otrace waits for the reader to take the line begun
		otrace.expectExit(t, exitTimeout, 0)
	} else {
		otrace.expectExit(t, exitTimeout, 0)
		r.readFor(t, 4*batch, exitTimeout) // to EOF
	}
	written, unwritten := summaryCounts(t, otrace.stderr())
	t.Logf("read %d spans in %d lines; summary: %d written, %d unwritten", r.spans, r.lines, written, unwritten)
	if written != r.spans {
		t.Errorf("the summary says %d spans written, the reader got %d", written, r.spans)
	}
	if unwritten == 0 {
		t.Errorf("nothing waited for the stalled reader when SIGINT came")
	}
	if written+unwritten != 4*batch {
		t.Errorf("%d written + %d unwritten, want %d requests", written, unwritten, 4*batch)
	}
}
