package tracetree

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// sp describes a span compactly: ids are single bytes (0 = empty), times
// are milliseconds.
type sp struct {
	trace, id, parent byte
	kind              ptrace.SpanKind
	name              string
	start, end        int
	attrs             map[string]string
	flags             uint32
}

func traceID(b byte) pcommon.TraceID {
	var id pcommon.TraceID
	if b != 0 {
		id[15] = b
	}
	return id
}

func spanID(b byte) pcommon.SpanID {
	var id pcommon.SpanID
	if b != 0 {
		id[7] = b
	}
	return id
}

// line builds one output line's worth of spans, as otrace writes it: one
// resource, one scope.
func line(spans ...sp) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "services")
	ss := rs.ScopeSpans().AppendEmpty()
	base := pcommon.NewTimestampFromTime(time.Unix(1_700_000_000, 0))
	for _, s := range spans {
		span := ss.Spans().AppendEmpty()
		span.SetTraceID(traceID(s.trace))
		span.SetSpanID(spanID(s.id))
		span.SetParentSpanID(spanID(s.parent))
		span.SetKind(s.kind)
		span.SetName(s.name)
		span.SetStartTimestamp(base + pcommon.Timestamp(s.start)*pcommon.Timestamp(time.Millisecond))
		span.SetEndTimestamp(base + pcommon.Timestamp(s.end)*pcommon.Timestamp(time.Millisecond))
		span.SetFlags(s.flags)
		for k, v := range s.attrs {
			span.Attributes().PutStr(k, v)
		}
	}
	return td
}

func server(trace, id byte, path, query string, start, end int) sp {
	return sp{trace: trace, id: id, kind: ptrace.SpanKindServer, name: "GET " + path, start: start, end: end,
		attrs: map[string]string{"url.path": path, "url.query": query}}
}

func client(trace, id, parent byte, full string, start, end int) sp {
	return sp{trace: trace, id: id, parent: parent, kind: ptrace.SpanKindClient, name: "GET", start: start, end: end,
		attrs: map[string]string{"url.full": full}}
}

// wantErrors checks that errs has one error per substring, in any order.
func wantErrors(t *testing.T, errs []error, substrs ...string) {
	t.Helper()
	if len(errs) != len(substrs) {
		t.Errorf("got %d errors, want %d (%q):", len(errs), len(substrs), substrs)
		for _, err := range errs {
			t.Errorf("  %v", err)
		}
		return
	}
	used := make([]bool, len(errs))
next:
	for _, s := range substrs {
		for i, err := range errs {
			if !used[i] && strings.Contains(err.Error(), s) {
				used[i] = true
				continue next
			}
		}
		t.Errorf("no error contains %q; got %v", s, errs)
	}
}

func TestLinksAcrossLines(t *testing.T) {
	// Children end first, so otrace writes them in earlier lines.
	f := New(
		line(client(1, 3, 1, "http://127.0.0.1:1/b", 30, 40)),
		line(client(1, 2, 1, "http://127.0.0.1:1/a", 10, 20), sp{trace: 2, id: 9, name: "other", start: 1, end: 5}),
		line(server(1, 1, "/client", "", 0, 50)),
	)
	if f.Len() != 4 {
		t.Fatalf("Len = %d, want 4", f.Len())
	}
	wantErrors(t, f.Problems())
	wantErrors(t, f.NestingProblems(0))
	root, err := f.ServerSpan("/client")
	if err != nil {
		t.Fatal(err)
	}
	if root.Parent != nil {
		t.Errorf("server span has parent %v", root.Parent)
	}
	var got []string
	for _, c := range root.Children {
		got = append(got, c.Attr("url.full"))
		if c.Parent != root {
			t.Errorf("%v: Parent = %v, want the server span", c, c.Parent)
		}
	}
	if want := []string{"http://127.0.0.1:1/a", "http://127.0.0.1:1/b"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("children by start time = %q, want %q", got, want)
	}
	if d := root.Descendants(); len(d) != 2 {
		t.Errorf("Descendants = %v, want the 2 client spans", d)
	}
	if roots := f.Roots(); len(roots) != 2 || roots[0].Span.Name() != "GET /client" {
		t.Errorf("Roots = %v, want the server span, then the other trace's span", roots)
	}
}

func TestProblems(t *testing.T) {
	remote := FlagHasIsRemote | FlagIsRemote
	tests := []struct {
		name  string
		lines []ptrace.Traces
		want  []string
	}{
		{"missing parent", []ptrace.Traces{line(client(1, 2, 7, "u", 0, 1))},
			[]string{"in no output line and not marked remote"}},
		{"missing parent marked remote", []ptrace.Traces{line(sp{trace: 1, id: 2, parent: 7, flags: remote, start: 0, end: 1})},
			nil},
		{"remote flag without has-is-remote", []ptrace.Traces{line(sp{trace: 1, id: 2, parent: 7, flags: FlagIsRemote, start: 0, end: 1})},
			[]string{"not marked remote"}},
		{"parent in another trace", []ptrace.Traces{line(server(1, 1, "/a", "", 0, 9)), line(client(2, 2, 1, "u", 1, 2))},
			[]string{"of another trace"}},
		{"duplicate span id", []ptrace.Traces{line(server(1, 1, "/a", "", 0, 9)), line(server(1, 1, "/a", "", 0, 9))},
			[]string{"appears more than once"}},
		{"same span id in two traces is fine", []ptrace.Traces{line(server(1, 1, "/a", "", 0, 9), server(2, 1, "/a", "", 0, 9))},
			nil},
		{"no ids", []ptrace.Traces{line(sp{start: 0, end: 1})},
			[]string{"no trace id", "no span id"}},
		{"ends before it starts", []ptrace.Traces{line(server(1, 1, "/a", "", 5, 4))},
			[]string{"before it starts"}},
		{"own parent", []ptrace.Traces{line(sp{trace: 1, id: 1, parent: 1, start: 0, end: 1})},
			[]string{"is its own parent"}},
		{"cycle", []ptrace.Traces{line(sp{trace: 1, id: 1, parent: 2, start: 0, end: 1}, sp{trace: 1, id: 2, parent: 1, start: 0, end: 1})},
			[]string{"own ancestor", "own ancestor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErrors(t, New(tt.lines...).Problems(), tt.want...)
		})
	}
}

func TestNestingProblems(t *testing.T) {
	f := New(line(
		server(1, 1, "/client", "", 10, 20),
		client(1, 2, 1, "early", 9, 15),
		client(1, 3, 1, "late", 15, 22),
		client(1, 4, 1, "inside", 11, 19),
	))
	wantErrors(t, f.NestingProblems(0), "starts 1ms before its parent", "ends 2ms after its parent")
	wantErrors(t, f.NestingProblems(2*time.Millisecond))
}

func TestFind(t *testing.T) {
	f := New(line(
		server(1, 1, "/client", "n=1", 0, 9),
		server(2, 2, "/client", "n=2", 0, 9),
		client(2, 3, 2, "u", 1, 2),
	))
	if _, err := f.ServerSpan("/client"); err == nil || !strings.Contains(err.Error(), "2 spans match") {
		t.Errorf("ServerSpan with two matches: err = %v", err)
	}
	n, err := f.ServerSpan("/client", Attr("url.query", "n=2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Children) != 1 || n.Children[0].Attr("url.full") != "u" {
		t.Errorf("children of %v = %v", n, n.Children)
	}
	if _, err := f.ServerSpan("/nothing"); err == nil {
		t.Error("ServerSpan found a span for a path no span has")
	}
	if got := len(f.Find(Kind(ptrace.SpanKindClient))); got != 1 {
		t.Errorf("Find(client) = %d spans, want 1", got)
	}
	if got := n.Attr("absent"); got != "" {
		t.Errorf("Attr(absent) = %q", got)
	}
}

func TestCarries(t *testing.T) {
	tests := []struct {
		text, marker string
		want         bool
	}{
		{"/hello?m=m1", "m1", true},
		{"/hello?m=m10", "m1", false},
		{"/hello?m=xm1", "m1", false},
		{"/hello?m=m10&n=m1", "m1", true},
		{"m1", "m1", true},
		{"/a/m1/b", "m1", true},
		{"", "m1", false},
		{"anything", "", false},
	}
	for _, tt := range tests {
		if got := Carries(tt.text, tt.marker); got != tt.want {
			t.Errorf("Carries(%q, %q) = %v, want %v", tt.text, tt.marker, got, tt.want)
		}
	}
}

// clientRequests builds what otrace should write for /client?url=U with U
// carrying each marker: one trace per request, a server span and a client
// span under it; link can rewire a client span's parent to break the tree.
func clientRequests(markers []string, link func(i int) (parent byte)) []ptrace.Traces {
	var lines []ptrace.Traces
	for i, m := range markers {
		tr, srv, cli := byte(i+1), byte(2*i+1), byte(2*i+2)
		target := "http://127.0.0.1:4000/hello?m=" + m
		parent := srv
		if link != nil {
			parent = link(i)
		}
		// The marker reaches the server span only URL-encoded, inside ?url=.
		lines = append(lines, line(
			client(tr, cli, parent, target, 10, 20),
			server(tr, srv, "/client", "url="+url.QueryEscape(target), 0, 30),
		))
	}
	return lines
}

func TestCheckMarkers(t *testing.T) {
	markers := []string{"m1", "m2", "m10"}
	check := ClientCalls("/client", markers, 1)

	wantErrors(t, New(clientRequests(markers, nil)...).CheckMarkers(check))

	// m2's client span is linked to m1's server span: a span id of another
	// trace, so Problems sees it too.
	crossed := New(clientRequests(markers, func(i int) byte {
		if i == 1 {
			return 1
		}
		return byte(2*i + 1)
	})...)
	wantErrors(t, crossed.CheckMarkers(check), "has no parent in the output")
	wantErrors(t, crossed.Problems(), "of another trace")

	// Cross-linking within one trace (one process-wide trace, say).
	lines := []ptrace.Traces{line(
		server(1, 1, "/client", "url=http%3A%2F%2Fh%2F%3Fm%3Dm1", 0, 30),
		server(1, 2, "/client", "url=http%3A%2F%2Fh%2F%3Fm%3Dm2", 0, 30),
		client(1, 3, 1, "http://h/?m=m1", 1, 2),
		client(1, 4, 1, "http://h/?m=m2", 1, 2), // should be under 2
	)}
	wantErrors(t, New(lines...).CheckMarkers(ClientCalls("/client", []string{"m1", "m2"}, 1)),
		"marker m2: CLIENT span \"GET\" 00000000000000000000000000000001/0000000000000004 url.full=\"http://h/?m=m2\" is linked to")

	// A marker's client span is missing, another's has no parent, and a
	// third's parent is some other span.
	broken := New(
		line(server(1, 1, "/client", "url=x%3Fm%3Dm1", 0, 30)),
		line(server(2, 2, "/client", "url=x%3Fm%3Dm2", 0, 30), client(2, 3, 0, "x?m=m2", 1, 2)),
		line(server(3, 4, "/client", "url=x%3Fm%3Dm10", 0, 30), sp{trace: 3, id: 5, parent: 4, name: "internal", start: 1, end: 5},
			client(3, 6, 5, "x?m=m10", 2, 3)),
	)
	wantErrors(t, broken.CheckMarkers(check),
		"marker m1: 0 child spans carry it, want 1",
		"marker m2: CLIENT span",
		"is a child of UNSPECIFIED span \"internal\"")

	// Fan-out: the count per marker is checked, and a marker without a
	// server span is reported.
	fan := New(line(
		server(1, 1, "/fanout", "url=x%3Fm%3Dm1&n=2", 0, 30),
		client(1, 2, 1, "x?m=m1", 1, 2),
		client(1, 3, 1, "x?m=m1", 1, 2),
		client(1, 4, 1, "x?m=m2", 1, 2),
	))
	wantErrors(t, fan.CheckMarkers(ClientCalls("/fanout", []string{"m1", "m2"}, 2)),
		"marker m2: 1 child spans carry it, want 2",
		"marker m2: no parent span carries it")

	// Two requests with the same marker: the test itself is broken.
	twice := New(line(
		server(1, 1, "/client", "url=x%3Fm%3Dm1", 0, 30),
		server(1, 2, "/client", "url=x%3Fm%3Dm1", 0, 30),
		client(1, 3, 1, "x?m=m1", 1, 2),
	))
	wantErrors(t, twice.CheckMarkers(ClientCalls("/client", []string{"m1"}, 1)),
		"marker m1 is carried by two parents")

	// A span carrying two markers is ambiguous.
	two := New(line(
		server(1, 1, "/client", "url=x%3Fm%3Dm1%26m%3Dm2", 0, 30),
		client(1, 2, 1, "x?m=m1&m=m2", 1, 2),
	))
	wantErrors(t, two.CheckMarkers(ClientCalls("/client", []string{"m1", "m2"}, 0)),
		"parent SERVER", "child CLIENT", "m1: no parent", "m2: no parent", "m1: no child", "m2: no child")
}

// The same check works for database spans, with the marker in the SQL text
// (the services fixture's ?tag=) and a custom child text.
func TestCheckMarkersDB(t *testing.T) {
	db := func(trace, id, parent byte, stmt string) sp {
		return sp{trace: trace, id: id, parent: parent, kind: ptrace.SpanKindClient, name: "INSERT", start: 1, end: 2,
			attrs: map[string]string{"db.query.text": stmt}}
	}
	f := New(line(
		server(1, 1, "/db", "driver=pgx&op=tx&tag=t1", 0, 9),
		db(1, 2, 1, "INSERT INTO items (name, qty) VALUES ($1, $2) /* t1 */"),
		db(1, 3, 1, "UPDATE items SET qty = qty + 1 WHERE name = $1 /* t1 */"),
		server(1, 4, "/db", "driver=pgx&op=tx&tag=t2", 0, 9),
		db(1, 5, 4, "INSERT INTO items (name, qty) VALUES ($1, $2) /* t2 */"),
		db(1, 6, 1, "UPDATE items SET qty = qty + 1 WHERE name = $1 /* t2 */"),
	))
	check := MarkerCheck{
		Markers:           []string{"t1", "t2"},
		Parent:            Server("/db"),
		Child:             Kind(ptrace.SpanKindClient),
		ChildText:         func(n *Node) string { return n.Attr("db.query.text") },
		ChildrenPerMarker: 2,
	}
	wantErrors(t, f.CheckMarkers(check), "/* t2 */\" is linked to SERVER span \"GET /db\"")
}

func TestRead(t *testing.T) {
	var out strings.Builder
	for _, td := range []ptrace.Traces{
		line(client(1, 2, 1, "http://127.0.0.1:1/a", 10, 20)),
		line(server(1, 1, "/client", "", 0, 50)),
	} {
		b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(b)
		out.WriteString("\n")
	}
	out.WriteString("{not json\n")
	f, bad, err := Read(strings.NewReader(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || !strings.HasPrefix(bad[0].Error(), "3: ") {
		t.Errorf("bad lines = %v, want line 3", bad)
	}
	root, err := f.ServerSpan("/client")
	if err != nil {
		t.Fatal(err)
	}
	if len(root.Children) != 1 {
		t.Errorf("children = %v, want the client span from line 1", root.Children)
	}
}
