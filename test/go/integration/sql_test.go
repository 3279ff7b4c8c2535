package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"otrace.test/gotests/internal/tracetree"
)

// The databases the services fixture talks to, and what otrace must say
// about each: db.system.name, the Go type of the driver's errors, and how
// the fixture spells placeholders (test/fixtures/services/db.go).
type sqlDriver struct {
	name      string // /db?driver=
	system    string
	errorType string
	numbered  string
}

var sqlDrivers = []sqlDriver{
	{"pgx", "postgresql", "*github.com/jackc/pgx/v5/pgconn.PgError", "$"},
	{"sqlite", "sqlite", "*modernc.org/sqlite.Error", "?"},
}

// sqlOp is one /db?op= and the CLIENT spans it must give, in order:
// "OPERATION table", or "" for a statement without a known operation
// (then the span is named after the system).
type sqlOp struct {
	op    string
	spans []string
	fails bool
}

var sqlOps = []sqlOp{
	{"select", []string{"SELECT items"}, false},
	{"insert", []string{"INSERT items"}, false},
	{"update", []string{"UPDATE items"}, false},
	{"delete", []string{"DELETE items"}, false},
	{"queryrow", []string{"SELECT items"}, false},
	{"prepare", []string{"INSERT items"}, false}, // Prepare itself is no span; Stmt.Exec is
	{"tx", []string{"INSERT items", "UPDATE items"}, false},
	{"rollback", []string{"INSERT items", "UPDATE items"}, false},
	{"syntax", []string{""}, true},
	{"missing", []string{"SELECT no_such_table"}, true},
}

// TestSQL: database/sql CLIENT spans for every kind of call (DB, Stmt, Tx;
// query, exec, query row), made while serving HTTP requests, against a real
// PostgreSQL through pgx and against SQLite through a pure-Go driver.
func TestSQL(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	svc := servicesFixture(t)
	dsn := startPostgres(t)

	t.Run("spans", func(t *testing.T) { testSQLSpans(t, bin, svc, dsn) })
	t.Run("statement text", func(t *testing.T) { testSQLStatementText(t, bin, svc, dsn) })
}

// testSQLSpans: one span per operation, with the semantic conventions'
// attributes and name, ERROR and error.type for a failing statement, no
// statement text without --db-statement, and each span a child of the
// server span of the request that made it.
func testSQLSpans(t *testing.T, bin, svc, dsn string) {
	run := startTracedServices(t, bin, svc, dsn)
	for _, d := range sqlDrivers {
		for _, op := range sqlOps {
			run.db(t, d.name, op.op, "", fmt.Sprintf("sqltest %s %s", d.name, op.op))
		}
	}
	forest, nspans := run.stop(t)

	for _, d := range sqlDrivers {
		for _, op := range sqlOps {
			ua := fmt.Sprintf("sqltest %s %s", d.name, op.op)
			server, err := forest.ServerSpan("/db", tracetree.Attr("user_agent.original", ua))
			if err != nil {
				t.Errorf("%s: %v", ua, err)
				continue
			}
			checkDBChildren(t, ua, server, d, op)
		}
	}

	// The fixture's CREATE TABLE at start, outside any request: roots.
	for _, d := range sqlDrivers {
		roots := forest.Find(tracetree.All(tracetree.Kind(ptrace.SpanKindClient),
			tracetree.Attr("db.system.name", d.system), func(n *tracetree.Node) bool {
				return n.Span.ParentSpanID().IsEmpty()
			}))
		if len(roots) != 1 || roots[0].Span.Name() != "CREATE items" {
			t.Errorf("%s: want one root span \"CREATE items\" (the fixture's schema), got %v", d.name, roots)
		}
	}
	queries := 0
	for _, op := range sqlOps {
		queries += len(op.spans)
	}
	if want := len(sqlDrivers) * (1 + len(sqlOps) + queries); nspans != want {
		t.Errorf("%d spans, want %d: per driver the schema's, %d requests' and their %d queries'",
			nspans, want, len(sqlOps), queries)
	}
}

// checkDBChildren checks the CLIENT spans under one /db request's span.
func checkDBChildren(t *testing.T, what string, server *tracetree.Node, d sqlDriver, op sqlOp) {
	t.Helper()
	var kids []*tracetree.Node
	for _, c := range server.Children {
		if c.Span.Kind() == ptrace.SpanKindClient {
			kids = append(kids, c)
		}
	}
	if len(kids) != len(op.spans) {
		t.Errorf("%s: %d client spans under %v, want %d %q: %v", what, len(kids), server,
			len(op.spans), op.spans, kids)
		return
	}
	for i, c := range kids {
		want := op.spans[i]
		wantName, wantOp, wantTable := d.system, "", ""
		if want != "" {
			wantName = want
			wantOp, wantTable, _ = strings.Cut(want, " ")
		}
		s := c.Span
		if s.Name() != wantName {
			t.Errorf("%s: span %d named %q, want %q", what, i, s.Name(), wantName)
		}
		if s.TraceID() != server.Span.TraceID() {
			t.Errorf("%s: %v is in another trace than its parent", what, c)
		}
		for key, want := range map[string]string{
			"db.system.name":     d.system,
			"db.operation.name":  wantOp,
			"db.collection.name": wantTable,
		} {
			if got := c.Attr(key); got != want {
				t.Errorf("%s: %v: %s = %q, want %q", what, c, key, got, want)
			}
		}
		if _, ok := s.Attributes().Get("db.query.text"); ok {
			t.Errorf("%s: %v has db.query.text without --db-statement", what, c)
		}
		if op.fails {
			if s.Status().Code() != ptrace.StatusCodeError || c.Attr("error.type") != d.errorType {
				t.Errorf("%s: %v: status %v error.type %q, want Error and %q", what, c,
					s.Status().Code(), c.Attr("error.type"), d.errorType)
			}
		} else if s.Status().Code() != ptrace.StatusCodeUnset || c.Attr("error.type") != "" {
			t.Errorf("%s: %v: status %v error.type %q, want Unset and none", what, c,
				s.Status().Code(), c.Attr("error.type"))
		}
	}
}

// testSQLStatementText: with --db-statement the spans carry the statement
// as the program sent it; and the queries of concurrent requests, told apart
// by a marker in their text, are each under their own request's span.
func testSQLStatementText(t *testing.T, bin, svc, dsn string) {
	run := startTracedServices(t, bin, svc, dsn, "--db-statement")
	texts := map[string]string{ // op -> statement, as test/fixtures/services/db.go writes it
		"select":  "SELECT id, name, qty FROM items WHERE name = $1 ORDER BY id",
		"prepare": "INSERT INTO items (name, qty) VALUES ($1, $2)",
		"syntax":  "SELEC 1",
	}
	for _, d := range sqlDrivers {
		for op := range texts {
			tag := fmt.Sprintf("text-%s-%s", d.name, op)
			run.db(t, d.name, op, tag, tag)
		}
	}
	// Statements of 256 bytes (the most a cut-short record holds:
	// lib/database_sql/record.h), one more, and far more: each whole.
	long := map[string]string{} // user agent -> statement
	for _, d := range sqlDrivers {
		base := strings.ReplaceAll(texts["select"], "$", d.numbered) + " /*  */"
		for _, total := range []int{256, 257, 1500} {
			ua := fmt.Sprintf("text-%s-%d", d.name, total)
			tag := ua + "-" + strings.Repeat("x", total-len(base)-len(ua)-1)
			long[ua] = strings.ReplaceAll(texts["select"], "$", d.numbered) + " /* " + tag + " */"
			if n := len(long[ua]); n != total {
				t.Fatalf("%s: statement of %d bytes, want %d", ua, n, total)
			}
			run.db(t, d.name, "select", tag, ua)
		}
	}

	const perDriver = 12
	var markers []string
	var wg sync.WaitGroup
	errs := make(chan error, 2*perDriver)
	for _, d := range sqlDrivers {
		for i := 0; i < perDriver; i++ {
			marker := fmt.Sprintf("conc-%s-%02d", d.name, i)
			markers = append(markers, marker)
			wg.Add(1)
			go func(driver string) {
				defer wg.Done()
				errs <- dbRequest(run.client, run.port, driver, "insert", marker, marker)
			}(d.name)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	forest, _ := run.stop(t)

	for _, d := range sqlDrivers {
		for op, text := range texts {
			tag := fmt.Sprintf("text-%s-%s", d.name, op)
			want := strings.ReplaceAll(text, "$", d.numbered) + " /* " + tag + " */"
			spans := forest.Find(tracetree.All(tracetree.Kind(ptrace.SpanKindClient),
				tracetree.Attr("db.query.text", want)))
			if len(spans) != 1 {
				t.Errorf("%s: %d spans with db.query.text %q, want 1", tag, len(spans), want)
				continue
			}
			if p := spans[0].Parent; p == nil || p.Attr("user_agent.original") != tag {
				t.Errorf("%s: %v is not a child of its request's span (parent %v)", tag, spans[0], p)
			}
		}
	}
	for ua, want := range long {
		spans := forest.Find(tracetree.All(tracetree.Kind(ptrace.SpanKindClient),
			tracetree.Attr("db.query.text", want)))
		if len(spans) != 1 {
			t.Errorf("%s: %d spans with its %d-byte db.query.text, want 1", ua, len(spans), len(want))
			continue
		}
		if p := spans[0].Parent; p == nil || p.Attr("user_agent.original") != ua {
			t.Errorf("%s: %v is not a child of its request's span (parent %v)", ua, spans[0], p)
		}
	}
	for _, err := range forest.CheckMarkers(tracetree.MarkerCheck{
		Markers:           markers,
		Parent:            tracetree.Server("/db"),
		Child:             tracetree.Kind(ptrace.SpanKindClient),
		ParentText:        func(n *tracetree.Node) string { return n.Attr("user_agent.original") },
		ChildText:         func(n *tracetree.Node) string { return n.Attr("db.query.text") },
		ChildrenPerMarker: 1,
	}) {
		t.Error(err)
	}
}

// tracedServices is the services fixture run by otrace --exec.
type tracedServices struct {
	otrace *proc
	out    string
	port   int
	client *http.Client
}

// startTracedServices runs the fixture with both databases (no HTTP/2 and
// gRPC servers: not under test here) under otrace with extra options.
func startTracedServices(t *testing.T, bin, svc, dsn string, extra ...string) *tracedServices {
	t.Helper()
	dir := t.TempDir()
	run := &tracedServices{out: filepath.Join(dir, "out.jsonl"), client: newClient()}
	portFile, pidFile := filepath.Join(dir, "port"), filepath.Join(dir, "pid")
	args := append(extra, "-o", run.out, "--exec", svc, "-port-file", portFile, "-pid-file", pidFile,
		"-pg", dsn, "-sqlite", filepath.Join(dir, "items.db"), "-h2-addr", "", "-grpc-addr", "")
	run.otrace = startProc(t, dir, "otrace", nil, bin, args...)
	run.port = waitPortFile(t, portFile, run.otrace)
	killOnCleanup(t, readPidFile(t, pidFile), svc)
	return run
}

// db makes one /db request; the fixture answers 200 when the operation
// ended as it should (the failing ones failed).
func (r *tracedServices) db(t *testing.T, driver, op, tag, ua string) {
	t.Helper()
	if err := dbRequest(r.client, r.port, driver, op, tag, ua); err != nil {
		t.Fatal(err)
	}
}

func dbRequest(client *http.Client, port int, driver, op, tag, ua string) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/db?driver=%s&op=%s", port, driver, op)
	if tag != "" {
		url += "&tag=" + tag
	}
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", ua)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s %s", url, resp.Status, body)
	}
	return nil
}

// stop ends the fixture through otrace (SIGTERM is forwarded) and reads the
// output: every line through the Collector's unmarshaler, the span trees
// free of dangling or crossed links, children inside their parents.
func (r *tracedServices) stop(t *testing.T) (*tracetree.Forest, int) {
	t.Helper()
	// A connection the client dialled but never used would hold up the
	// fixture's graceful shutdown for seconds (net/http counts it active).
	r.client.CloseIdleConnections()
	r.otrace.signal(t, syscall.SIGTERM)
	r.otrace.expectExit(t, exitTimeout, 0)
	f, err := os.Open(r.out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	forest, bad, err := tracetree.Read(f)
	if err != nil {
		t.Fatalf("reading %s: %v", r.out, err)
	}
	for _, e := range bad {
		t.Errorf("%s:%v", r.out, e)
	}
	for _, e := range append(forest.Problems(), forest.NestingProblems(time.Millisecond)...) {
		t.Error(e)
	}
	checkSummary(t, r.otrace.stderr(), forest.Len())
	if t.Failed() {
		t.Logf("%s starts with:\n%s", r.out, clip(readFileString(r.out), 4000))
	}
	return forest, forest.Len()
}

var (
	servicesOnce sync.Once
	servicesPath string
	servicesErr  error
)

// servicesFixture returns OTRACE_SERVICES or the fixture in
// test/fixtures/services (a module of its own: pgx, SQLite, grpc), built
// once with its build.sh and the go on PATH.
func servicesFixture(t *testing.T) string {
	t.Helper()
	servicesOnce.Do(func() {
		if servicesPath = os.Getenv("OTRACE_SERVICES"); servicesPath != "" {
			servicesPath, servicesErr = filepath.Abs(servicesPath)
			return
		}
		script, err := filepath.Abs(filepath.Join("..", "..", "fixtures", "services", "build.sh"))
		if err != nil {
			servicesErr = err
			return
		}
		servicesPath = filepath.Join(sharedDir, "services")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "sh", script, "go", servicesPath).CombinedOutput(); err != nil {
			servicesErr = fmt.Errorf("building the services fixture with %s: %v\n%s", script, err, out)
		}
	})
	if servicesErr != nil {
		t.Fatal(servicesErr)
	}
	return servicesPath
}

// startPostgres starts a throwaway PostgreSQL server (test/db/postgres.sh)
// on a free port and returns its DSN; it is stopped when the test ends.
func startPostgres(t *testing.T) string {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "db", "postgres.sh"))
	if err != nil {
		t.Fatal(err)
	}
	// the postgres user must reach it: not under a 0700 temporary directory
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("otrace-it-pg-%d", os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("sh", script, "stop", dir).CombinedOutput(); err != nil {
			t.Errorf("stopping PostgreSQL: %v\n%s", err, out)
		}
		os.RemoveAll(dir)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", script, "start", dir, strconv.Itoa(freePort(t)))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("starting PostgreSQL (scripts/setup.sh installs it): %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// freePort returns a TCP port on 127.0.0.1 that nothing listened on a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
