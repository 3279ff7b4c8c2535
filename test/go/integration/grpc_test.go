package integration

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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

	"otrace.test/gotests/internal/tracetree"
)

// The grpc-go releases otrace supports, oldest and newest: both are tested
// unless OTRACE_GRPC_RELEASES names others (space-separated). Before v1.14
// grpc-go had no internal/transport and no retries (newAttemptLocked), and
// otrace skips its probes with a warning.
const (
	oldestGRPC = "v1.14.0"
	newestGRPC = "v1.85.0"
)

// Built without DWARF or symbols, the fixture's layouts come from its
// runtime type data alone.
var strippedFlags = []string{"-ldflags=-s -w"}

// releasesFromEnv: the releases the environment variable name lists
// (space-separated), when it is set; else defaults.
func releasesFromEnv(name string, defaults ...string) []string {
	if v, ok := os.LookupEnv(name); ok {
		return strings.Fields(v)
	}
	return defaults
}

func grpcReleases() []string {
	if v, ok := os.LookupEnv("OTRACE_GRPC_RELEASES"); ok {
		return strings.Fields(v)
	}
	return []string{oldestGRPC, newestGRPC}
}

// grpcSample: the releases TestGRPC and TestGRPCListProbes trace with DWARF
// and stripped, unless OTRACE_GRPC_RELEASES names others (test/grpc/
// run-releases.sh names every minor's latest patch): besides the oldest and
// the newest, v1.60, and v1.70 and v1.76, whose ServerStream embeds a
// *Stream (v1.69-v1.76; by value from v1.77 on, the Stream itself before).
func grpcSample() []string {
	if v, ok := os.LookupEnv("OTRACE_GRPC_RELEASES"); ok {
		return strings.Fields(v)
	}
	return []string{oldestGRPC, "v1.60.1", "v1.70.0", "v1.76.0", newestGRPC}
}

// grpcGenproto is the google.golang.org/genproto/googleapis/rpc release the
// services fixture is built with (OTRACE_GENPROTO, default the newest): the
// status proto's layout comes from the binary, whichever release it is.
func grpcGenproto() string {
	if v, ok := os.LookupEnv("OTRACE_GENPROTO"); ok {
		return v
	}
	return "latest"
}

var (
	grpcBuildsMu sync.Mutex
	grpcBuilds   = map[string]string{} // fixture/release -> binary
)

// grpcFixture builds test/fixtures/NAME (services or grpcchain) against a
// grpc-go release with its build.sh and the go on PATH, once per test
// binary run, unless $OTRACE_GRPC_FIXTURES holds it prebuilt (named as the
// key below, e.g. grpcchain-grpcv1.14.0). Only services' build.sh takes go
// build flags, and the genproto release (grpcGenproto).
func grpcFixture(t *testing.T, name, release string, buildFlags ...string) string {
	t.Helper()
	grpcBuildsMu.Lock()
	defer grpcBuildsMu.Unlock()
	key := name + "-grpc" + release
	if len(buildFlags) > 0 {
		key += "-" + strings.NewReplacer(" ", "", "=", "", "-", "").Replace(strings.Join(buildFlags, ""))
	}
	if path, ok := grpcBuilds[key]; ok {
		return path
	}
	if dir := os.Getenv("OTRACE_GRPC_FIXTURES"); dir != "" {
		if path := filepath.Join(dir, key); isFile(path) {
			grpcBuilds[key] = path
			return path
		}
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "fixtures", name, "build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sharedDir, key)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	start := time.Now()
	args := append([]string{script, "go", path, release}, buildFlags...)
	cmd := exec.CommandContext(ctx, "sh", args...)
	if name == "services" {
		cmd.Env = append(os.Environ(), "GENPROTO_VERSION="+grpcGenproto())
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("building the %s fixture with grpc %s: %v\n%s", name, release, err, out)
	}
	t.Logf("built the %s fixture with grpc %s in %v", name, release, time.Since(start).Round(time.Millisecond))
	grpcBuilds[key] = path
	return path
}

// grpcFrame is a gRPC message on the wire: uncompressed flag, length, bytes.
func grpcFrame(msg []byte) []byte {
	b := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(b[1:5], uint32(len(msg)))
	copy(b[5:], msg)
	return b
}

// healthCheckRequest encodes grpc.health.v1.HealthCheckRequest{service}.
func healthCheckRequest(service string) []byte {
	if service == "" {
		return nil
	}
	return append([]byte{0x0a, byte(len(service))}, service...)
}

// grpcCall makes one unary gRPC call over cleartext HTTP/2 with net/http
// alone, so that the test sets the metadata (HTTP/2 headers) itself and
// needs no grpc-go; it returns the grpc-status the server sent. md's "Host"
// is the :authority.
func grpcCall(port int, method string, msg []byte, md map[string]string) (int, error) {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protocols, Proxy: nil}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d%s", port, method),
		bytes.NewReader(grpcFrame(msg)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	for k, v := range md {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v) // HTTP/2 sends names lowercase, as gRPC metadata wants
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %v", method, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	status := resp.Trailer.Get("Grpc-Status")
	if status == "" { // a trailers-only response carries it in the headers
		status = resp.Header.Get("Grpc-Status")
	}
	code, err := strconv.Atoi(status)
	if err != nil {
		return 0, fmt.Errorf("%s: HTTP %d, grpc-status %q", method, resp.StatusCode, status)
	}
	return code, nil
}

// grpcDirectCalls go straight to the fixture's gRPC server, with metadata
// of the test's choosing.
var grpcDirectCalls = []struct {
	method string
	msg    []byte
	md     map[string]string
	code   int
}{
	{"/grpc.health.v1.Health/Check", nil, map[string]string{"traceparent": callerSampled}, 0},
	{"/grpc.health.v1.Health/Check", healthCheckRequest("otrace.test.Missing"),
		map[string]string{"traceparent": callerBadUpper}, 5},
	{"/otrace.test.Nope/Missing", nil, nil, 12},
}

var grpcListenRE = regexp.MustCompile(`grpc listening on 127\.0\.0\.1:(\d+)`)

// grpcWant is one gRPC span a test expects.
type grpcWant struct {
	kind   ptrace.SpanKind
	method string // rpc.method
	code   string // rpc.response.status_code
	error  bool   // ERROR status with error.type = code
}

// checkGRPCSpan checks the RPC semantic conventions (release candidate):
// rpc.system.name, rpc.method, rpc.response.status_code as the code's name,
// server.address and server.port, error.type and ERROR exactly for errors,
// and the span named by rpc.method.
func checkGRPCSpan(t *testing.T, n *tracetree.Node, w grpcWant, port int) {
	t.Helper()
	s := n.Span
	want := map[string]string{
		"rpc.system.name":          "grpc",
		"rpc.method":               w.method,
		"rpc.response.status_code": w.code,
		"server.address":           "127.0.0.1",
		"server.port":              strconv.Itoa(port),
	}
	for k, v := range want {
		if got := n.Attr(k); got != v {
			t.Errorf("%v: %s = %q, want %q", n, k, got, v)
		}
	}
	if s.Kind() != w.kind {
		t.Errorf("%v: kind %v, want %v", n, s.Kind(), w.kind)
	}
	if v, _ := s.Attributes().Get("server.port"); v.Type().String() != "Int" {
		t.Errorf("%v: server.port is a %v, want Int", n, v.Type())
	}
	if w.method != "_OTHER" && s.Name() != w.method {
		t.Errorf("%v: name %q, want rpc.method %q", n, s.Name(), w.method)
	}
	errType := n.Attr("error.type")
	if w.error {
		if s.Status().Code() != ptrace.StatusCodeError || errType != w.code {
			t.Errorf("%v: status %v, error.type %q; want ERROR and %q", n, s.Status().Code(), errType, w.code)
		}
	} else if s.Status().Code() != ptrace.StatusCodeUnset || errType != "" {
		t.Errorf("%v: status %v, error.type %q; want UNSET and none", n, s.Status().Code(), errType)
	}
}

// within reports whether inner's span lies inside outer's, give or take
// slack. Both come from the same clock (one process).
func within(inner, outer *tracetree.Node, slack time.Duration) bool {
	sl := uint64(slack)
	return uint64(inner.Span.StartTimestamp())+sl >= uint64(outer.Span.StartTimestamp()) &&
		uint64(inner.Span.EndTimestamp()) <= uint64(outer.Span.EndTimestamp())+sl
}

// TestGRPC: gRPC server and client spans, unary and streaming, on the oldest
// and the newest grpc-go release otrace supports and those between that
// grpcSample names, against the newest genproto. The services fixture's
// /grpc handler calls its own gRPC server with the request's context, so
// each client span must be a child of the HTTP server span; the gRPC server
// span starts a new trace (nothing propagates the context), unless the
// caller's metadata carries a traceparent, which the test sends itself. A
// call of a method the server does not have is _OTHER.
//
// Stripped of DWARF and symbols, the same fixture gets the same spans from
// its runtime type data and .gopclntab.
func TestGRPC(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	for _, release := range grpcSample() {
		t.Run("grpc"+release, func(t *testing.T) { testGRPC(t, bin, grpcFixture(t, "services", release)) })
		t.Run("grpc"+release+"-stripped", func(t *testing.T) {
			testGRPC(t, bin, grpcFixture(t, "services", release, strippedFlags...))
		})
	}
}

func testGRPC(t *testing.T, bin, fixturePath string) {
	dir := t.TempDir()
	portFile := filepath.Join(dir, "port")
	pidFile := filepath.Join(dir, "pid")
	out := filepath.Join(dir, "out.jsonl")

	otrace := startProc(t, dir, "otrace", nil, bin, "-o", out, "--exec", fixturePath,
		"-port-file", portFile, "-pid-file", pidFile, "-h2-addr", "", "-grpc-addr", "127.0.0.1:0")
	port := waitPortFile(t, portFile, otrace)
	pid := readPidFile(t, pidFile)
	killOnCleanup(t, pid, fixturePath)
	grpcPort := grpcPortOf(t, otrace)

	// Through the fixture's own grpc-go client, with the HTTP request's context.
	client := newClient()
	for _, op := range []string{"ok", "fail", "stream"} {
		getOK(t, client, port, "/grpc?op="+op)
	}
	client.CloseIdleConnections()

	for _, c := range grpcDirectCalls {
		code, err := grpcCall(grpcPort, c.method, c.msg, c.md)
		if err != nil {
			t.Fatal(err)
		}
		if code != c.code {
			t.Fatalf("%s: grpc-status %d, want %d", c.method, code, c.code)
		}
	}

	otrace.signal(t, syscall.SIGTERM)
	otrace.expectExit(t, exitTimeout, 0)
	spans := readOutput(t, out) // every line through the Collector's unmarshaler
	checkSummary(t, otrace.stderr(), len(spans))
	forest := spanTrees(t, out)
	checkGRPCTrees(t, forest, grpcPort)
	if t.Failed() {
		for _, n := range forest.Nodes() {
			t.Logf("%v parent=%v status=%v", n, n.Span.ParentSpanID(), n.Attr("rpc.response.status_code"))
		}
	}
}

func checkGRPCTrees(t *testing.T, forest *tracetree.Forest, grpcPort int) {
	const (
		check = "grpc.health.v1.Health/Check"
		info  = "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
	)
	isGRPC := tracetree.Attr("rpc.system.name", "grpc")
	clientKind := tracetree.Kind(ptrace.SpanKindClient)
	serverKind := tracetree.Kind(ptrace.SpanKindServer)

	// One client span per /grpc request, its child, and its server peer.
	calls := []grpcWant{
		{method: check, code: "OK"},
		{method: check, code: "NOT_FOUND", error: true}, // any non-OK code fails a client
		{method: info, code: "OK"},
	}
	for _, w := range calls {
		w.kind = ptrace.SpanKindClient
		c, err := forest.One(tracetree.All(isGRPC, clientKind, tracetree.Attr("rpc.method", w.method),
			tracetree.Attr("rpc.response.status_code", w.code)))
		if err != nil {
			t.Errorf("client span %s %s: %v", w.method, w.code, err)
			continue
		}
		checkGRPCSpan(t, c, w, grpcPort)
		if c.Parent == nil || c.Parent.Span.Kind() != ptrace.SpanKindServer || c.Parent.Attr("url.path") != "/grpc" {
			t.Errorf("%v: parent %v, want the HTTP server span of /grpc", c, c.Parent)
		}
		// The server's span of the same call: a root of its own trace,
		// within the client span's time (the calls are sequential).
		w.kind = ptrace.SpanKindServer
		w.error = false // NOT_FOUND is not a server error
		found := forest.Find(tracetree.All(isGRPC, serverKind, tracetree.Attr("rpc.method", w.method),
			tracetree.Attr("rpc.response.status_code", w.code), func(n *tracetree.Node) bool {
				return n.Span.ParentSpanID().IsEmpty() && within(n, c, 0)
			}))
		if len(found) != 1 {
			t.Errorf("server span of %v (%s): %d root spans within it, want 1: %v", c, w.code, len(found), found)
			continue
		}
		s := found[0]
		checkGRPCSpan(t, s, w, grpcPort)
		if s.Span.TraceID() == c.Span.TraceID() {
			t.Errorf("%v joined its client's trace, but nothing propagated it", s)
		}
	}

	// A valid incoming traceparent continues the caller's trace.
	cont := forest.Find(tracetree.All(isGRPC, serverKind, func(n *tracetree.Node) bool {
		return n.Span.TraceID().String() == callerTrace
	}))
	if len(cont) != 1 {
		t.Errorf("%d server spans in the caller's trace %s, want 1: %v", len(cont), callerTrace, cont)
	} else {
		s := cont[0]
		checkGRPCSpan(t, s, grpcWant{kind: ptrace.SpanKindServer, method: check, code: "OK"}, grpcPort)
		if s.Span.ParentSpanID().String() != callerSpan || !s.RemoteParent() {
			t.Errorf("%v: parent %v remote=%v, want %s and remote", s, s.Span.ParentSpanID(), s.RemoteParent(), callerSpan)
		}
		if flags := s.Span.Flags(); flags&flagsTraceMask != 1 {
			t.Errorf("%v: flags %#x, want the caller's sampled flag", s, flags)
		}
	}
	// An invalid one (upper-case hex) starts a new trace: two NOT_FOUND roots.
	notFound := forest.Find(tracetree.All(isGRPC, serverKind, tracetree.Attr("rpc.response.status_code", "NOT_FOUND")))
	if len(notFound) != 2 {
		t.Errorf("%d NOT_FOUND server spans, want 2 (/grpc?op=fail and the bad traceparent): %v", len(notFound), notFound)
	}
	for _, s := range notFound {
		if !s.Span.ParentSpanID().IsEmpty() || s.Span.TraceID().String() == callerTrace {
			t.Errorf("%v: parent %v in trace %v; an invalid traceparent must start a new trace", s, s.Span.ParentSpanID(), s.Span.TraceID())
		}
	}

	// A method the server does not have: _OTHER, the name kept, UNIMPLEMENTED is an error.
	other, err := forest.One(tracetree.All(isGRPC, serverKind, tracetree.Attr("rpc.method", "_OTHER")))
	if err != nil {
		t.Errorf("server span of the unknown method: %v", err)
	} else {
		checkGRPCSpan(t, other, grpcWant{kind: ptrace.SpanKindServer, method: "_OTHER", code: "UNIMPLEMENTED", error: true}, grpcPort)
		if got := other.Attr("rpc.method_original"); got != "otrace.test.Nope/Missing" {
			t.Errorf("%v: rpc.method_original %q, want %q", other, got, "otrace.test.Nope/Missing")
		}
		if other.Span.Name() != "grpc" {
			t.Errorf("%v: name %q, want rpc.system.name %q", other, other.Span.Name(), "grpc")
		}
	}
	if n, want := len(forest.Find(isGRPC)), 2*len(calls)+len(grpcDirectCalls); n != want {
		t.Errorf("%d gRPC spans, want %d", n, want)
	}
}

// TestGRPCChain: calls made while serving a gRPC call are children of its
// server span (the span registers the stream's context, from which the
// handler's derives): an HTTP call and a nested gRPC call, both made with
// the handler's context. And a call to a port nobody listens on, which fails
// before its stream exists, still gets its CLIENT span, UNAVAILABLE.
func TestGRPCChain(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	for _, release := range grpcReleases() {
		t.Run("grpc"+release, func(t *testing.T) { testGRPCChain(t, bin, grpcFixture(t, "grpcchain", release)) })
	}
}

func testGRPCChain(t *testing.T, bin, fixturePath string) {
	g := startGRPCChain(t, t.TempDir(), bin, fixturePath)
	otrace, out, port, grpcPort := g.otrace, g.out, g.port, g.grpcPort
	client := newClient()
	for _, path := range []string{"/chain", "/down"} {
		g.get(t, client, path)
	}
	client.CloseIdleConnections()
	otrace.signal(t, syscall.SIGTERM)
	otrace.expectExit(t, exitTimeout, 0)
	spans := readOutput(t, out)
	checkSummary(t, otrace.stderr(), len(spans))
	forest := spanTrees(t, out)
	checkGRPCChain(t, forest, port, grpcPort)
	if t.Failed() {
		for _, n := range forest.Nodes() {
			t.Logf("%v parent=%v", n, n.Span.ParentSpanID())
		}
	}
}

func checkGRPCChain(t *testing.T, forest *tracetree.Forest, port, grpcPort int) {
	const check = "grpc.health.v1.Health/Check"
	ok := grpcWant{method: check, code: "OK"}
	isCheck := tracetree.All(tracetree.Attr("rpc.system.name", "grpc"), tracetree.Attr("rpc.method", check))

	// /chain -> client Check -> server Check -> {HTTP GET /hello, GET /hello?bg=1, client Check -> server Check}
	chain, err := forest.ServerSpan("/chain")
	if err != nil {
		t.Fatalf("/chain: %v", err)
	}
	if len(chain.Children) != 1 || !isCheck(chain.Children[0]) {
		t.Fatalf("%v: children %v, want one gRPC Check", chain, chain.Children)
	}
	outer := chain.Children[0]
	ok.kind = ptrace.SpanKindClient
	checkGRPCSpan(t, outer, ok, grpcPort)
	handlers := forest.Find(tracetree.All(isCheck, tracetree.Kind(ptrace.SpanKindServer), func(n *tracetree.Node) bool {
		return len(n.Children) > 0
	}))
	if len(handlers) != 1 {
		t.Fatalf("%d gRPC server spans with children, want 1 (the chain handler's): %v", len(handlers), handlers)
	}
	handler := handlers[0]
	ok.kind = ptrace.SpanKindServer
	checkGRPCSpan(t, handler, ok, grpcPort)
	if !handler.Span.ParentSpanID().IsEmpty() || !within(handler, outer, 0) {
		t.Errorf("%v: want a root within its client span %v", handler, outer)
	}
	// the HTTP call with the handler's context, the same call with
	// context.Background() (linked through the handler's goroutine), a gRPC Check
	var httpCall, bgCall, grpcCall *tracetree.Node
	for _, c := range handler.Children {
		switch {
		case c.Span.Kind() == ptrace.SpanKindClient && c.Attr("url.full") == fmt.Sprintf("http://127.0.0.1:%d/hello", port):
			httpCall = c
		case c.Span.Kind() == ptrace.SpanKindClient && c.Attr("url.full") == fmt.Sprintf("http://127.0.0.1:%d/hello?bg=1", port):
			bgCall = c
		case isCheck(c):
			grpcCall = c
		}
	}
	if len(handler.Children) != 3 || httpCall == nil || bgCall == nil || grpcCall == nil {
		t.Fatalf("%v: children %v, want the HTTP calls of /hello (with and without the context) and a gRPC Check",
			handler, handler.Children)
	}
	ok.kind = ptrace.SpanKindClient
	checkGRPCSpan(t, grpcCall, ok, grpcPort)

	// /down: the call fails before its stream exists
	down, err := forest.ServerSpan("/down")
	if err != nil {
		t.Fatalf("/down: %v", err)
	}
	if len(down.Children) != 1 || !isCheck(down.Children[0]) {
		t.Fatalf("%v: children %v, want one gRPC Check", down, down.Children)
	}
	failed := down.Children[0]
	w := grpcWant{kind: ptrace.SpanKindClient, method: check, code: "UNAVAILABLE", error: true}
	port0, _ := strconv.Atoi(failed.Attr("server.port"))
	checkGRPCSpan(t, failed, w, port0) // a closed port the test does not know
	if port0 == grpcPort || port0 <= 0 {
		t.Errorf("%v: server.port %d, want the closed port", failed, port0)
	}
}

// grpcPlan is what TestGRPCListProbes reads of --list-probes.
type grpcPlan struct {
	Probes []struct {
		Library     string `json:"library"`
		Symbol      string `json:"symbol"`
		Program     string `json:"program"`
		Planned     bool   `json:"planned"`
		Instruction string `json:"instruction"`
		Emulated    bool   `json:"emulated"`
		Reason      string `json:"reason"`
	} `json:"probes"`
	Fields        []grpcField `json:"fields"`
	SingleStepped int         `json:"singleSteppedProbes"`
}

// grpcField is one struct field of a --list-probes plan; Source is "dwarf",
// "typedata", "table" or null (unknown).
type grpcField struct {
	Struct string  `json:"struct"`
	Field  string  `json:"field"`
	Offset int64   `json:"offset"`
	Source *string `json:"source"`
	// a field path's hop: the struct the field holds by value, or points to
	Holds     string `json:"holds"`
	PointerTo string `json:"pointerTo"`
}

func (f grpcField) String() string {
	src := "unknown"
	if f.Source != nil {
		src = *f.Source
	}
	return fmt.Sprintf("%s.%s at %d (%s)", f.Struct, f.Field, f.Offset, src)
}

func listGRPCProbes(t *testing.T, bin, target string) grpcPlan {
	t.Helper()
	plan, _ := listProbes(t, bin, target)
	return plan
}

// listProbes runs otrace [flags] --list-probes target: the plan, and stderr.
func listProbes(t *testing.T, bin, target string, flags ...string) (grpcPlan, string) {
	t.Helper()
	args := append(append([]string{bin}, flags...), "--list-probes", target)
	code, stdout, stderr := runOtrace(t, t.TempDir(), "otrace-list", args...)
	if code != 0 {
		t.Fatalf("--list-probes %s: exit %d\n%s", target, code, stderr)
	}
	var plan grpcPlan
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatalf("--list-probes: %v\n%s", err, clip(stdout, 2000))
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("plan:\n%s\nstderr:\n%s", clip(stdout, 8000), stderr)
		}
	})
	return plan, stderr
}

// TestGRPCListProbes: --list-probes shows every gRPC probe. On each release
// every start and end is planned on an instruction the kernel emulates, so
// the plan single-steps nothing; NewStream's after-call site, which would be
// single-stepped, is listed unplanned with that reason.
//
// Without DWARF and symbols (-ldflags="-s -w"), each release gets the same
// plan, every field that DWARF gave now from the runtime type data at the
// offset DWARF gave, and the server stream's path goes through the
// ServerStream's Stream as DWARF says: a pointer on v1.69-v1.76, by value
// from v1.77 on, no ServerStream before.
func TestGRPCListProbes(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	for _, release := range grpcSample() {
		t.Run("grpc"+release, func(t *testing.T) {
			plan := listGRPCProbes(t, bin, grpcFixture(t, "services", release))
			checkGRPCPlan(t, plan)
			checkServerStream(t, plan, release)
		})
		t.Run("grpc"+release+"-stripped", func(t *testing.T) {
			withDWARF := listGRPCProbes(t, bin, grpcFixture(t, "services", release))
			plan := listGRPCProbes(t, bin, grpcFixture(t, "services", release, strippedFlags...))
			checkGRPCPlan(t, plan)
			checkStrippedFields(t, withDWARF, plan)
			checkServerStream(t, plan, release)
		})
	}
}

// checkServerStream: how the plan reaches the server stream's Stream in a
// release, as grpc-go's source has it.
func checkServerStream(t *testing.T, plan grpcPlan, release string) {
	t.Helper()
	minor, err := strconv.Atoi(strings.Split(release, ".")[1])
	if err != nil {
		t.Fatalf("release %q: %v", release, err)
	}
	const stream = "google.golang.org/grpc/internal/transport.Stream"
	var hops []grpcField
	for _, f := range plan.Fields {
		if f.Struct == "google.golang.org/grpc/internal/transport.ServerStream" && f.Field == "Stream" {
			hops = append(hops, f)
		}
	}
	switch {
	case minor < 69 && len(hops) != 0:
		t.Errorf("%s has no ServerStream, but the plan reads %v", release, hops)
	case minor < 69:
	case len(hops) != 2: // the context's path and the method's
		t.Errorf("%d ServerStream.Stream hops in the plan, want 2: %v", len(hops), hops)
	}
	for _, h := range hops {
		want, got := "holds", "holds"
		if minor <= 76 {
			want = "pointerTo"
		}
		if h.PointerTo == stream {
			got = "pointerTo"
		} else if h.Holds != stream {
			got = "neither"
		}
		if got != want {
			t.Errorf("%s: ServerStream.Stream %s the Stream, want %s (%v)", release, got, want, h)
		}
	}
}

// checkGRPCPlan: every gRPC probe planned on an emulated instruction, but
// NewStream's after-call site, and every program has a probe.
func checkGRPCPlan(t *testing.T, plan grpcPlan) {
	t.Helper()
	planned := map[string]int{}
	for _, p := range plan.Probes {
		if !strings.HasPrefix(p.Library, "gRPC") {
			continue
		}
		switch {
		case p.Planned && !p.Emulated:
			t.Errorf("%s %s at %q is single-stepped", p.Program, p.Symbol, p.Instruction)
		case p.Planned:
			planned[p.Program]++
		case p.Program == "grpc_client_created" && strings.HasSuffix(p.Symbol, ".(*ClientConn).NewStream"):
			if !strings.Contains(p.Reason, "single-stepped") {
				t.Errorf("%s %s: reason %q does not say it would be single-stepped", p.Program, p.Symbol, p.Reason)
			}
		default:
			t.Errorf("%s %s not planned: %s", p.Program, p.Symbol, p.Reason)
		}
	}
	for _, prog := range []string{"grpc_server_start", "grpc_server_end", "grpc_client_start",
		"grpc_client_attempt", "grpc_client_finish", "grpc_client_created"} {
		if planned[prog] == 0 {
			t.Errorf("no planned probe runs %s", prog)
		}
	}
	if plan.SingleStepped != 0 {
		t.Errorf("singleSteppedProbes = %d, want 0", plan.SingleStepped)
	}
}

// checkStrippedFields: each field the DWARF plan read, the stripped plan has
// from the type data at the same offset, and the fields DWARF lacked stay
// unknown. The fields listed are gRPC's and the other libraries' alike.
func checkStrippedFields(t *testing.T, withDWARF, stripped grpcPlan) {
	t.Helper()
	key := func(f grpcField) string { return f.Struct + "." + f.Field }
	got := map[string]grpcField{}
	for _, f := range stripped.Fields {
		got[key(f)] = f
	}
	grpc := 0
	for _, want := range withDWARF.Fields {
		f, ok := got[key(want)]
		switch {
		case strings.HasPrefix(want.Struct, "golang.org/x/net/"):
			if ok && f.Source != nil && *f.Source == "table" {
				t.Errorf("%v: from a table, which has no x/net rows", f)
			}
		case !ok:
			t.Errorf("%v: not listed without DWARF", want)
		case want.Source == nil && f.Source != nil:
			t.Errorf("%v: unknown in DWARF, but %v without it", want, f)
		case want.Source == nil:
		case *want.Source != "dwarf":
			t.Errorf("%v: want source dwarf in the unstripped binary", want)
		case f.Source == nil || *f.Source != "typedata" || f.Offset != want.Offset:
			t.Errorf("%v without DWARF, want %d from the type data", f, want.Offset)
		case strings.HasPrefix(want.Struct, "google.golang.org/"):
			grpc++
		}
	}
	if grpc < 5 {
		t.Errorf("%d grpc-go and genproto fields from the type data, want 5 or more", grpc)
	}
}

// isFile: path names a regular file.
func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// grpcchainProc is a grpcchain fixture traced by its own otrace (--exec).
type grpcchainProc struct {
	otrace   *proc
	out      string
	port     int // HTTP
	grpcPort int
}

func startGRPCChain(t *testing.T, dir, bin, fixturePath string, flags ...string) grpcchainProc {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	g := grpcchainProc{out: filepath.Join(dir, "out.jsonl")}
	portFile := filepath.Join(dir, "port")
	args := append(append([]string{}, flags...), "-o", g.out, "--exec", fixturePath, "-port-file", portFile)
	g.otrace = startProc(t, dir, "otrace", nil, bin, args...)
	g.port = waitPortFile(t, portFile, g.otrace)
	g.grpcPort = grpcPortOf(t, g.otrace)
	return g
}

// grpcPortOf is the gRPC port a fixture run under p announced on stderr.
func grpcPortOf(t *testing.T, p *proc) int {
	t.Helper()
	m := grpcListenRE.FindStringSubmatch(p.waitStderrLine(t, "grpc listening on", readyTimeout))
	if m == nil {
		t.Fatalf("no gRPC port in the fixture's stderr:\n%s", p.stderr())
	}
	port, _ := strconv.Atoi(m[1])
	return port
}

// get fetches path from the fixture's HTTP server; the body, trimmed.
func (g grpcchainProc) get(t *testing.T, client *http.Client, path string) string {
	t.Helper()
	return getOK(t, client, g.port, path)
}

// getOK fetches path from 127.0.0.1:port, failing the test unless it
// answers 200; the body, trimmed.
func getOK(t *testing.T, client *http.Client, port int, path string) string {
	t.Helper()
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
	}
	return strings.TrimSpace(string(body))
}
