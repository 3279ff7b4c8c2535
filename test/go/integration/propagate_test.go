package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"otrace.test/gotests/internal/otlp"
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

// rpcSpans are the gRPC spans of kind to or on port, in output order.
func rpcSpans(spans []otlp.Span, kind, port int) []otlp.Span {
	var out []otlp.Span
	for _, s := range spans {
		if s.Kind == kind && s.Attributes["rpc.system.name"] == "grpc" &&
			(kind != spanKindClient || fmt.Sprint(s.Attributes["server.port"]) == strconv.Itoa(port)) {
			out = append(out, s)
		}
	}
	return out
}

// TestPropagateGRPC: with --propagate, A's gRPC calls carry traceparent
// metadata naming A's client span, and B's server spans continue A's trace,
// for the oldest and newest grpc-go otrace supports; B, traced without the
// flag, calls A with no traceparent. Several calls share one connection, and
// the first one opens it. Under lockdown: the refusal, once, and no metadata.
func TestPropagateGRPC(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	for _, release := range grpcReleases() {
		t.Run("grpc"+release, func(t *testing.T) {
			testPropagateGRPC(t, bin, grpcFixture(t, "grpcchain", release))
		})
	}
}

func testPropagateGRPC(t *testing.T, bin, fixturePath string) {
	const calls = 3
	dir := t.TempDir()
	a := startGRPCChain(t, filepath.Join(dir, "a"), bin, fixturePath, "--propagate")
	b := startGRPCChain(t, filepath.Join(dir, "b"), bin, fixturePath)
	refused := strings.Contains(a.otrace.stderr(), propagateRefused)
	client := newClient()
	for i := 0; i < calls; i++ {
		a.get(t, client, fmt.Sprintf("/relay?to=127.0.0.1:%d", b.grpcPort))
		b.get(t, client, fmt.Sprintf("/relay?to=127.0.0.1:%d", a.grpcPort))
	}
	seenByB := strings.Fields(b.get(t, client, "/seen"))
	seenByA := strings.Fields(a.get(t, client, "/seen"))
	client.CloseIdleConnections()
	for _, g := range []grpcchainProc{a, b} {
		g.otrace.signal(t, syscall.SIGTERM)
		g.otrace.expectExit(t, exitTimeout, 0)
	}
	spansA, spansB := readOutput(t, a.out), readOutput(t, b.out)

	// without the flag, B's calls are sent as they were
	if len(seenByA) != calls {
		t.Fatalf("A's service saw %d calls, want %d", len(seenByA), calls)
	}
	for _, v := range seenByA {
		if v != "-" {
			t.Errorf("B is traced without --propagate, yet its call carried traceparent %q", v)
		}
	}
	clients := rpcSpans(spansA, spanKindClient, b.grpcPort)
	if len(clients) != calls || len(seenByB) != calls {
		t.Fatalf("%d client spans in A's output and %d calls seen by B, want %d each",
			len(clients), len(seenByB), calls)
	}
	if refused {
		if n := strings.Count(a.otrace.stderr(), propagateRefused); n != 1 {
			t.Errorf("the refusal was reported %d times, want once:\n%s", n, a.otrace.stderr())
		}
		for _, v := range seenByB {
			if v != "-" {
				t.Errorf("the kernel refused writes, yet a call carried traceparent %q", v)
			}
		}
		t.Logf("this kernel forbids BPF writes to process memory: checked the refusal")
		return
	}
	// one trace across both processes, call by call, the first one included
	servers := rpcSpans(spansB, spanKindServer, 0)
	for i, c := range clients {
		want := "00-" + c.TraceID + "-" + c.SpanID + "-01"
		if seenByB[i] != want {
			t.Errorf("call %d carried traceparent %q, want %s", i, seenByB[i], want)
		}
		found := false
		for _, s := range servers {
			if s.TraceID == c.TraceID {
				found = true
				if s.ParentSpanID != c.SpanID {
					t.Errorf("call %d: B's server span has parent %s, want A's client span %s",
						i, s.ParentSpanID, c.SpanID)
				}
			}
		}
		if !found {
			t.Errorf("call %d: no server span in B's output continues trace %s", i, c.TraceID)
		}
	}
}

// TestPropagateGRPCPlan: with --propagate, --list-probes shows gRPC's three
// propagation probes, on instructions the kernel emulates, on the oldest and
// newest release, with DWARF and stripped (offsets from the type data).
func TestPropagateGRPCPlan(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	list := func(t *testing.T, target string) (grpcPlan, string) {
		return listProbes(t, bin, target, "--propagate")
	}
	programs := func(plan grpcPlan, library string) map[string]int {
		n := map[string]int{}
		for _, p := range plan.Probes {
			if p.Library != library {
				continue
			}
			if !p.Planned || !p.Emulated {
				t.Errorf("%s %s: planned=%v emulated=%v (%s)", p.Program, p.Symbol, p.Planned, p.Emulated, p.Reason)
			}
			n[p.Program]++
		}
		return n
	}
	check := func(t *testing.T, target string) {
		plan, _ := list(t, target)
		got := programs(plan, "gRPC client (--propagate)")
		for _, prog := range []string{"grpc_put_headers", "grpc_write_header", "grpc_headers_written"} {
			if got[prog] != 1 {
				t.Errorf("%d planned probes run %s, want 1", got[prog], prog)
			}
		}
		if plan.SingleStepped != 0 {
			t.Errorf("singleSteppedProbes = %d, want 0", plan.SingleStepped)
		}
	}
	for _, release := range grpcReleases() {
		t.Run("grpc"+release, func(t *testing.T) { check(t, grpcFixture(t, "services", release)) })
	}
	for _, release := range grpcReleases() {
		t.Run("grpc"+release+"-stripped", func(t *testing.T) {
			check(t, grpcFixture(t, "services", release, strippedFlags...))
		})
	}
}

var propagateStatsRE = regexp.MustCompile(`not the request's any more (\d+), traceparent already there (\d+)\)`)

// TestPropagateSafety: with --propagate, a request that already carries a
// traceparent keeps its own, alone (HTTP/1.1 and HTTP/2); a header map left
// claimed by a round trip that returned early (an invalid header name) and
// then written without a round trip, as a request's headers (Request.Write)
// or as a server's response (Response.Write on a hijacked connection), gets
// none. Where the kernel refuses writes (this host's lockdown) nothing is
// written anyway; the guest run (test/vm/run-propagate.sh) is the real check.
func TestPropagateSafety(t *testing.T) {
	h1, rec1 := newRecorder(t, false)
	h2, rec2 := newRecorder(t, true)
	_, portA, otrace, out := tracedFixture(t, "--propagate")
	refused := strings.Contains(otrace.stderr(), propagateRefused)
	client := newClient()
	const own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	callVia(t, client, portA, url.Values{"to": {h1.URL + "/?c=own1"}, "tp": {own}}, "safety/own1")
	callVia(t, client, portA, url.Values{"to": {h2.URL + "/?c=own2"}, "tp": {own}, "tls": {"1"}}, "safety/own2")
	if got := getOK(t, client, portA, "/stale?how=request&to="+url.QueryEscape(h1.URL+"/?c=stale")); got != "200" {
		t.Fatalf("/stale?how=request: %q", got)
	}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/stale?how=response&to=%s", portA,
		url.QueryEscape(h1.URL+"/?c=never")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// a normal call still gets its traceparent afterwards
	callVia(t, client, portA, url.Values{"to": {h1.URL + "/?c=after"}}, "safety/after")
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)
	spans := readOutput(t, out)

	for c, rec := range map[string]*headerRecorder{"own1": rec1, "own2": rec2} {
		if v := rec.values(c); len(v) != 1 || v[0] != own {
			t.Errorf("%s: the request carried traceparent %q, want its own %s only", c, v, own)
		}
	}
	if v := rec1.values("stale"); len(v) != 0 {
		t.Errorf("a request written with a stale claim's header map carried traceparent %q", v)
	}
	if v := resp.Header.Values("Traceparent"); len(v) != 0 || resp.Header.Get("X-Stale") != "1" {
		t.Errorf("the response written with a stale claim's header map: traceparent %q, X-Stale %q",
			v, resp.Header.Get("X-Stale"))
	}
	if refused {
		t.Logf("this kernel forbids BPF writes to process memory: nothing was written")
		return
	}
	after := clientSpansTo(spans, "c=after")
	if v := rec1.values("after"); len(after) != 1 || len(v) != 1 || v[0] != "00-"+after[0].TraceID+"-"+after[0].SpanID+"-01" {
		t.Errorf("the call after: traceparent %q, want the client span's", v)
	}
	m := propagateStatsRE.FindStringSubmatch(otrace.stderr())
	if m == nil || m[1] == "0" || m[2] != "2" {
		t.Errorf("propagation counts %v, want stale claims counted and 2 traceparents already there:\n%s",
			m, otrace.stderr())
	}
}
