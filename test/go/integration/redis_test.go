package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"otrace.test/gotests/internal/tracetree"
)

// The go-redis releases the tests build test/fixtures/redisapp with: the
// oldest v9, the newest v9 (which needs Go 1.26), and the last v8.
var redisReleases = releasesFromEnv("OTRACE_REDIS_RELEASES",
	"github.com/redis/go-redis/v9@v9.0.0",
	"github.com/redis/go-redis/v9@v9.23.0",
	"github.com/go-redis/redis/v8@v8.11.5",
)

const redisDB = 2 // not the default: db.namespace must say which

// redisFixture builds test/fixtures/redisapp against release, once per test
// binary run.
func redisFixture(t *testing.T, release string, buildFlags ...string) string {
	t.Helper()
	key := "redisapp-" + strings.NewReplacer("/", "_", "@", "-").Replace(release)
	if len(buildFlags) > 0 {
		key += "-stripped"
	}
	return goFixture(t, "redisapp", key, append([]string{release}, buildFlags...)...)
}

// startRedis starts Debian's redis-server on a free port of 127.0.0.1 with
// its files in a directory of its own, persistence off; its address.
func startRedis(t *testing.T) string {
	t.Helper()
	server, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("no redis-server (scripts/setup.sh installs Debian's redis-server): %v", err)
	}
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	_, port, _ := net.SplitHostPort(addr)
	p := startProc(t, dir, "redis-server", nil, server, "--bind", "127.0.0.1", "--port", port,
		"--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no")
	t.Cleanup(func() {
		if !p.exited() {
			p.signal(t, syscall.SIGTERM)
			p.waitExit(t, exitTimeout)
		}
	})
	deadline := time.Now().Add(readyTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("redis-server did not listen on %s: %v\n%s", addr, err, p.stdout())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// redisOp is a /redis?op= and the CLIENT spans it must give, in order.
type redisOp struct {
	op    string
	spans []redisSpan
}

type redisSpan struct {
	name      string
	batch     string // db.operation.batch.size, "" none
	errorType string // "" for a span that is no error
	text      string // db.query.text with --db-statement
}

var (
	setSpan  = redisSpan{name: "SET", text: "SET ? ? ? ?"} // Set with an expiry: SET k v ex 60
	redisOps = []redisOp{
		{"set", []redisSpan{setSpan}},
		{"get", []redisSpan{setSpan, {name: "GET", text: "GET ?"}}},
		{"missing", []redisSpan{{name: "GET", text: "GET ?"}}}, // redis.Nil is an answer
		{"wrongtype", []redisSpan{setSpan, {name: "LPUSH", errorType: "WRONGTYPE", text: "LPUSH ? ?"}}},
		{"pipeline", []redisSpan{{name: "PIPELINE", batch: "3", text: "SET ? ? ? ?; INCR ?; GET ?"}}},
		{"pipeline-same", []redisSpan{setSpan, {name: "PIPELINE GET", batch: "2", text: "GET ?; GET ?"}}},
		{"tx", []redisSpan{{name: "MULTI INCR", batch: "2", text: "INCR ?; INCR ?"}}},
		{"bg", []redisSpan{setSpan}},
		{"spawn", []redisSpan{setSpan}},
		{"down", []redisSpan{{name: "GET", errorType: "*net.OpError", text: "GET ?"}}},
	}
)

// TestRedis: go-redis CLIENT spans for commands, pipelines, a transaction, a
// reply error, a missing key and a server that is not there, against a real
// redis-server, each a child of the HTTP request that made it (through its
// context, or its goroutine for context.Background()); the oldest and
// newest v9 and v8, and the database semantic conventions' attributes.
func TestRedis(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	addr := startRedis(t)
	for _, release := range redisReleases {
		release := release
		t.Run(release[strings.LastIndex(release, "/")+1:], func(t *testing.T) {
			fx := redisFixture(t, release)
			t.Run("plan", func(t *testing.T) { checkLibraryPlan(t, bin, fx, "go-redis", 5) })
			t.Run("spans", func(t *testing.T) { testRedisSpans(t, bin, fx, addr, false) })
			t.Run("statement", func(t *testing.T) { testRedisSpans(t, bin, fx, addr, true) })
		})
	}
}

type redisRun struct {
	otrace *proc
	out    string
	port   int
	client *http.Client
}

func startTracedRedisApp(t *testing.T, bin, fx, addr string, flags ...string) redisRun {
	t.Helper()
	dir := t.TempDir()
	r := redisRun{out: filepath.Join(dir, "out.jsonl"), client: newClient()}
	portFile := filepath.Join(dir, "port")
	args := append(append([]string{}, flags...), "-o", r.out, "--exec", fx, "-redis", addr,
		"-db", strconv.Itoa(redisDB), "-port-file", portFile)
	r.otrace = startProc(t, dir, "otrace", nil, bin, args...)
	r.port = waitPortFile(t, portFile, r.otrace)
	return r
}

// get sends /redis?op= with a user agent that tells the request apart.
func (r redisRun) get(t *testing.T, op, ua string) {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/redis?op=%s&tag=%s", r.port, op, ua), nil)
	req.Header.Set("User-Agent", ua)
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/redis?op=%s: %d %v %v", op, resp.StatusCode, body, err)
	}
}

// stop ends otrace and reads what it wrote.
func (r redisRun) stop(t *testing.T) *tracetree.Forest {
	t.Helper()
	r.client.CloseIdleConnections()
	r.otrace.signal(t, syscall.SIGTERM)
	r.otrace.expectExit(t, exitTimeout, 0)
	return readForest(t, r.otrace, r.out)
}

// readForest checks what otrace (ended) wrote to out, the Collector's way,
// and that nothing was lost; the spans as trees, their problems reported.
func readForest(t *testing.T, otrace *proc, out string) *tracetree.Forest {
	t.Helper()
	spans := readOutput(t, out)
	checkSummary(t, otrace.stderr(), len(spans))
	checkNothingLost(t, otrace.stderr())
	return spanTrees(t, out)
}

// spanTrees reads out's spans as trees, failing the test on a line that is
// not OTLP and reporting each tree's problems (nesting within timeSlack).
func spanTrees(t *testing.T, out string) *tracetree.Forest {
	t.Helper()
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	forest, bad, err := tracetree.Read(f)
	if err != nil || len(bad) > 0 {
		t.Fatalf("reading %s: %v %v", out, err, bad)
	}
	for _, p := range append(forest.Problems(), forest.NestingProblems(timeSlack)...) {
		t.Error(p)
	}
	return forest
}

// testRedisSpans: the spans of every redisOps request (a stripped binary's
// error types named from its type data's itabs, as its symbols would).
func testRedisSpans(t *testing.T, bin, fx, addr string, statement bool) {
	var flags []string
	if statement {
		flags = append(flags, "--db-statement")
	}
	r := startTracedRedisApp(t, bin, fx, addr, flags...)
	for _, op := range redisOps {
		r.get(t, op.op, "redistest-"+op.op)
	}
	forest := r.stop(t)
	_, port, _ := net.SplitHostPort(addr)
	for _, op := range redisOps {
		ua := "redistest-" + op.op
		server, err := forest.ServerSpan("/redis", tracetree.Attr("user_agent.original", ua))
		if err != nil {
			t.Errorf("%s: %v", ua, err)
			continue
		}
		var kids []*tracetree.Node
		for _, c := range server.Children {
			if c.Span.Kind() == ptrace.SpanKindClient {
				kids = append(kids, c)
			}
		}
		if len(kids) != len(op.spans) {
			t.Errorf("%s: %d client spans under the request, want %d: %v", ua, len(kids), len(op.spans), kids)
			continue
		}
		for i, c := range kids {
			want := op.spans[i]
			wantPort := port
			if op.op == "down" {
				wantPort = "1"
			}
			checkRedisSpan(t, ua, c, want, wantPort, statement)
		}
	}
	if t.Failed() {
		for _, n := range forest.Nodes() {
			t.Logf("%v parent=%v", n, n.Span.ParentSpanID())
		}
	}
}

func checkRedisSpan(t *testing.T, what string, c *tracetree.Node, want redisSpan, port string, statement bool) {
	t.Helper()
	s := c.Span
	if s.Name() != want.name {
		t.Errorf("%s: span named %q, want %q", what, s.Name(), want.name)
	}
	text := ""
	if statement {
		text = want.text
	}
	status := ""
	if want.errorType != "" && want.errorType[0] != '*' && want.errorType != "_OTHER" {
		status = want.errorType // a reply error's prefix
	}
	for key, v := range map[string]string{
		"db.system.name":          "redis",
		"db.operation.name":       want.name,
		"db.namespace":            strconv.Itoa(redisDB),
		"server.address":          "127.0.0.1",
		"server.port":             port,
		"db.operation.batch.size": want.batch,
		"error.type":              want.errorType,
		"db.response.status_code": status,
		"db.query.text":           text,
	} {
		if port == "1" && key == "db.namespace" {
			v = "0" // the client for a server that is not there uses the default
		}
		if got := c.Attr(key); got != v {
			t.Errorf("%s: %v: %s = %q, want %q", what, c, key, got, v)
		}
	}
	wantCode := ptrace.StatusCodeUnset
	if want.errorType != "" {
		wantCode = ptrace.StatusCodeError
	}
	if s.Status().Code() != wantCode {
		t.Errorf("%s: %v: status %v, want %v", what, c, s.Status().Code(), wantCode)
	}
}

// TestRedisStripped: a stripped build (-s -w) has no DWARF: go-redis's
// fields come from the binary's type data, every probe planned and emulated,
// and the spans are the same, error types named from the type data's itabs.
func TestRedisStripped(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	release := redisReleases[1]
	fx := redisFixture(t, release, "-ldflags=-s -w")
	plan, stderr := listProbes(t, bin, fx)
	for _, p := range plan.Probes {
		if p.Library == "go-redis" && (!p.Planned || !p.Emulated) {
			t.Fatalf("stripped: go-redis probe %s at %s not planned or not emulated (%s):\n%s",
				p.Program, p.Symbol, p.Reason, stderr)
		}
	}
	addr := startRedis(t)
	testRedisSpans(t, bin, fx, addr, false)
}

// checkLibraryPlan: --list-probes plans want probes of library, every one
// on an instruction the kernel emulates.
func checkLibraryPlan(t *testing.T, bin, target, library string, want int) {
	t.Helper()
	plan, _ := listProbes(t, bin, target)
	n := 0
	for _, p := range plan.Probes {
		if p.Library != library {
			continue
		}
		n++
		if !p.Planned || !p.Emulated {
			t.Errorf("%s probe %s at %s: planned %v, emulated %v (%s) %s", library, p.Program,
				p.Symbol, p.Planned, p.Emulated, p.Instruction, p.Reason)
		}
	}
	if n != want {
		t.Errorf("%d %s probes listed, want %d", n, library, want)
	}
	if plan.SingleStepped != 0 {
		t.Errorf("%d probes single-stepped, want none", plan.SingleStepped)
	}
}
