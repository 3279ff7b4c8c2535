package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// headerRecorder is a server that remembers the traceparent headers it got,
// by the request's c= query value.
type headerRecorder struct {
	mu  sync.Mutex
	got map[string][]string
}

func (h *headerRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.got[r.URL.Query().Get("c")] = r.Header.Values("Traceparent")
	h.mu.Unlock()
	fmt.Fprintln(w, r.Proto)
}

func (h *headerRecorder) values(c string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got[c]
}

func newRecorder(t *testing.T, h2 bool) (*httptest.Server, *headerRecorder) {
	rec := &headerRecorder{got: map[string][]string{}}
	srv := httptest.NewUnstartedServer(rec)
	if h2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, rec
}

const propagateRefused = "--propagate is off"

// TestPropagate: with --propagate, outgoing HTTP/1.1 and HTTP/2 requests
// carry a traceparent naming the client span, so a traced service B continues
// A's trace; without it, or when the kernel forbids writing to process
// memory (lockdown), the outgoing requests are left exactly as they were and
// otrace says why once and traces as usual.
func TestPropagate(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()

	h1, rec1 := newRecorder(t, false)
	h2, rec2 := newRecorder(t, true)

	// A: traced with --propagate; B: the same fixture, traced without it.
	dirA, dirB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{dirA, dirB} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	a, portA := startFixture(t, dirA, fx)
	b, portB := startFixture(t, dirB, fx)
	outA, outB := filepath.Join(dirA, "out.jsonl"), filepath.Join(dirB, "out.jsonl")
	otraceA := attachPID(t, dirA, bin, a.pid(), nil, "--propagate", "-o", outA)
	otraceB := attachPID(t, dirB, bin, b.pid(), nil, "-o", outB)
	refused := strings.Contains(otraceA.stderr(), propagateRefused)

	client := newClient()
	calls := map[string]url.Values{
		"h1":  {"to": {h1.URL + "/?c=h1"}},
		"h2":  {"to": {h2.URL + "/?c=h2"}, "tls": {"1"}},
		"svc": {"to": {fmt.Sprintf("http://127.0.0.1:%d/hello?c=svc", portB)}},
	}
	for name, q := range calls {
		callVia(t, client, portA, q, "propagate/"+name)
	}
	for _, p := range []*proc{otraceA, otraceB} {
		p.signal(t, syscall.SIGINT)
		p.expectExit(t, exitTimeout, 0)
	}
	spansA, spansB := readOutput(t, outA), readOutput(t, outB)
	clientSpan := func(c string) (id, trace string) {
		got := clientSpansTo(spansA, "c="+c)
		if len(got) != 1 {
			t.Fatalf("%s: %d client spans in A's output, want 1", c, len(got))
		}
		return got[0].SpanID, got[0].TraceID
	}

	if refused {
		if n := strings.Count(otraceA.stderr(), propagateRefused); n != 1 {
			t.Errorf("the refusal was reported %d times, want once:\n%s", n, otraceA.stderr())
		}
		for _, c := range []string{"h1", "h2"} {
			clientSpan(c) // traced as usual
			if v := map[string]*headerRecorder{"h1": rec1, "h2": rec2}[c].values(c); len(v) != 0 {
				t.Errorf("%s: the kernel refused writes, yet the request carried traceparent %q", c, v)
			}
		}
		t.Logf("this kernel forbids BPF writes to process memory (%s): checked the refusal; the "+
			"propagation itself needs a kernel without lockdown", strings.TrimSpace(otraceA.stderr()))
		return
	}

	for c, rec := range map[string]*headerRecorder{"h1": rec1, "h2": rec2} {
		id, trace := clientSpan(c)
		want := "00-" + trace + "-" + id + "-01"
		if v := rec.values(c); len(v) != 1 || v[0] != want {
			t.Errorf("%s: the request carried traceparent %q, want [%s]", c, v, want)
		}
	}
	// one trace across both processes: B's server span continues A's client span
	id, trace := clientSpan("svc")
	found := false
	for _, s := range spansB {
		if s.Attributes["url.path"] == "/hello" && s.Kind == spanKindServer {
			found = true
			if s.TraceID != trace || s.ParentSpanID != id {
				t.Errorf("B's server span: trace %s parent %s, want %s parent %s", s.TraceID, s.ParentSpanID, trace, id)
			}
		}
	}
	if !found {
		t.Error("no server span in B's output")
	}
}

// TestPropagateOff: without --propagate, outgoing requests carry no
// traceparent: otrace never writes into the target.
func TestPropagateOff(t *testing.T) {
	h1, rec1 := newRecorder(t, false)
	h2, rec2 := newRecorder(t, true)
	_, portA, otrace, out := tracedFixture(t)
	client := newClient()
	callVia(t, client, portA, url.Values{"to": {h1.URL + "/?c=h1"}}, "off/h1")
	callVia(t, client, portA, url.Values{"to": {h2.URL + "/?c=h2"}, "tls": {"1"}}, "off/h2")
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)
	if len(clientSpansTo(readOutput(t, out), "c=h")) != 2 {
		t.Error("want two client spans")
	}
	if v := rec1.values("h1"); len(v) != 0 {
		t.Errorf("HTTP/1.1 request carried traceparent %q without --propagate", v)
	}
	if v := rec2.values("h2"); len(v) != 0 {
		t.Errorf("HTTP/2 request carried traceparent %q without --propagate", v)
	}
}
