package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"otrace.test/gotests/internal/otlp"
)

const spanKindClient = 3 // OTLP enum value

// callVia asks the fixture's /call handler to make client calls; ua tags
// the server span so the test can find it.
func callVia(t *testing.T, c *http.Client, port int, query url.Values, ua string) string {
	t.Helper()
	req, err := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/call?%s", port, query.Encode()), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", ua)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("/call %s: %v", query.Encode(), err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode != 200 {
		t.Fatalf("/call %s: status %d: %s", query.Encode(), resp.StatusCode, sb.String())
	}
	return sb.String()
}

// serverSpanByUA finds the server span of the request sent with user agent ua.
func serverSpanByUA(spans []otlp.Span, ua string) (otlp.Span, bool) {
	for _, s := range spans {
		if s.Kind == spanKindServer && s.Attributes["user_agent.original"] == ua {
			return s, true
		}
	}
	return otlp.Span{}, false
}

// clientSpansTo lists the client spans whose url.full contains marker.
func clientSpansTo(spans []otlp.Span, marker string) []otlp.Span {
	var out []otlp.Span
	for _, s := range spans {
		if u, _ := s.Attributes["url.full"].(string); s.Kind == spanKindClient && strings.Contains(u, marker) {
			out = append(out, s)
		}
	}
	return out
}

func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// TestClientSpans: net/http client calls made while serving a request are
// CLIENT spans with the semantic-convention attributes, children of the
// server span — from the handler's goroutine or goroutines it spawned (and
// goroutines those spawned), with the request's context or
// context.Background() — over HTTP/1.1 and HTTP/2,
// with ERROR status on 4xx/5xx and on transport errors.
func TestClientSpans(t *testing.T) {
	_, port, otrace, out := tracedFixture(t)

	h2 := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, r.Proto)
	}))
	h2.EnableHTTP2 = true
	h2.StartTLS()
	defer h2.Close()
	h2URL, _ := url.Parse(h2.URL)

	self := fmt.Sprintf("http://127.0.0.1:%d", port)
	refused := fmt.Sprintf("http://127.0.0.1:%d/nothing", closedPort(t))
	type clientCase struct {
		name   string
		query  url.Values
		marker string // in the client span's url.full
		n      int
		status int64 // 0: transport error
		proto  string
		full   string // exact url.full when set
	}
	cases := []clientCase{
		{name: "ok", query: url.Values{"to": {self + "/hello?c=ok"}}, marker: "c=ok", n: 1, status: 200, proto: "1.1",
			full: self + "/hello?c=ok"},
		{name: "404", query: url.Values{"to": {self + "/status/404?c=nf"}}, marker: "c=nf", n: 1, status: 404, proto: "1.1"},
		{name: "503", query: url.Values{"to": {self + "/status/503?c=unavail"}}, marker: "c=unavail", n: 1, status: 503, proto: "1.1"},
		{name: "refused", query: url.Values{"to": {refused + "?c=refused"}}, marker: "c=refused", n: 1},
		{name: "background", query: url.Values{"to": {self + "/hello?c=bg"}, "bg": {"1"}}, marker: "c=bg", n: 1, status: 200, proto: "1.1"},
		{name: "fanout", query: url.Values{"to": {self + "/hello?c=fan"}, "n": {"5"}}, marker: "c=fan", n: 5, status: 200, proto: "1.1"},
		// goroutines the handler started, calling with context.Background(): they
		// inherit the request's span (lib/goroutines), however deep the chain
		{name: "detached", query: url.Values{"to": {self + "/hello?c=detached"}, "bg": {"1"}}, marker: "c=detached", n: 3, status: 200, proto: "1.1"},
		{name: "nested", query: url.Values{"to": {self + "/hello?c=nested"}, "bg": {"1"}, "nest": {"1"}}, marker: "c=nested", n: 2, status: 200, proto: "1.1"},
		{name: "secret", query: url.Values{"to": {"http://user:pw@127.0.0.1:" + fmt.Sprint(port) + "/hello?sig=s3cr3t&c=secret&X-Goog-Signature=abc"}},
			marker: "c=secret", n: 1, status: 200, proto: "1.1",
			full: fmt.Sprintf("http://REDACTED:REDACTED@127.0.0.1:%d/hello?sig=REDACTED&c=secret&X-Goog-Signature=REDACTED", port)},
		{name: "fragment", query: url.Values{"to": {self + "/hello?c=frag#part-2"}}, marker: "c=frag", n: 1, status: 200, proto: "1.1",
			full: self + "/hello?c=frag#part-2"},
		{name: "h2", query: url.Values{"to": {h2.URL + "/?c=h2"}, "tls": {"1"}}, marker: "c=h2", n: 1, status: 200, proto: "2"},
	}
	client := newClient()
	for _, c := range cases {
		if c.n > 1 {
			c.query.Set("n", fmt.Sprint(c.n))
		}
		callVia(t, client, port, c.query, "client-test/"+c.name)
	}
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)
	spans := readOutput(t, out)

	for _, c := range cases {
		server, ok := serverSpanByUA(spans, "client-test/"+c.name)
		if !ok {
			t.Errorf("%s: no server span for /call", c.name)
			continue
		}
		got := clientSpansTo(spans, c.marker)
		if len(got) != c.n {
			t.Errorf("%s: %d client spans, want %d", c.name, len(got), c.n)
			continue
		}
		for _, s := range got {
			if s.TraceID != server.TraceID || s.ParentSpanID != server.SpanID {
				t.Errorf("%s: client span in trace %s parent %s, want trace %s parent %s (the /call server span)",
					c.name, s.TraceID, s.ParentSpanID, server.TraceID, server.SpanID)
			}
			if s.Name != "GET" || s.Attributes["http.request.method"] != "GET" {
				t.Errorf("%s: name %q method %v", c.name, s.Name, s.Attributes["http.request.method"])
			}
			if s.StartUnixNano < server.StartUnixNano || s.EndUnixNano > server.EndUnixNano {
				t.Errorf("%s: client span [%d, %d] outside its server span [%d, %d]", c.name,
					s.StartUnixNano, s.EndUnixNano, server.StartUnixNano, server.EndUnixNano)
			}
			full, _ := s.Attributes["url.full"].(string)
			if c.full != "" && full != c.full {
				t.Errorf("%s: url.full %q, want %q", c.name, full, c.full)
			}
			if strings.Contains(full, "s3cr3t") || strings.Contains(full, "pw@") {
				t.Errorf("%s: url.full leaks a secret: %q", c.name, full)
			}
			wantHost, wantPort := "127.0.0.1", int64(port)
			switch c.name {
			case "h2":
				wantPort = int64(mustAtoi(t, h2URL.Port()))
			case "refused":
				u, _ := url.Parse(refused)
				wantPort = int64(mustAtoi(t, u.Port()))
			}
			if s.Attributes["server.address"] != wantHost || s.Attributes["server.port"] != wantPort {
				t.Errorf("%s: server %v:%v, want %s:%d", c.name, s.Attributes["server.address"],
					s.Attributes["server.port"], wantHost, wantPort)
			}
			code, hasCode := s.Attributes["http.response.status_code"]
			switch {
			case c.status == 0:
				// the fixture keeps its symbols: the error's Go type is named
				if hasCode || s.StatusCode != statusError || s.Attributes["error.type"] != "*net.OpError" {
					t.Errorf("%s: transport error: status code %v, span status %d, error.type %v",
						c.name, code, s.StatusCode, s.Attributes["error.type"])
				}
			case code != c.status:
				t.Errorf("%s: status code %v, want %d", c.name, code, c.status)
			case c.status >= 400 && (s.StatusCode != statusError || s.Attributes["error.type"] != fmt.Sprint(c.status)):
				t.Errorf("%s: status %d error.type %v, want ERROR and %d", c.name, s.StatusCode,
					s.Attributes["error.type"], c.status)
			case c.status < 400 && (s.StatusCode == statusError || s.Attributes["error.type"] != nil):
				t.Errorf("%s: a %d response marked as an error", c.name, c.status)
			}
			if c.proto != "" && s.Attributes["network.protocol.version"] != c.proto {
				t.Errorf("%s: network.protocol.version %v, want %s", c.name,
					s.Attributes["network.protocol.version"], c.proto)
			}
		}
	}
	checkSummary(t, otrace.stderr(), len(spans))
}

// TestGoroutineReuse: Go gives a dead goroutine's g to the next one it
// starts. Goroutines of a request that inherited its span die; then a
// goroutine that serves nothing starts others, which likely get those g's,
// and they call with context.Background(): their spans must be roots, in
// no request's trace. Rounds alternate so that each round's goroutines
// find the g's the last round's inheriting goroutines left.
func TestGoroutineReuse(t *testing.T) {
	_, port, otrace, out := tracedFixture(t)
	self := fmt.Sprintf("http://127.0.0.1:%d", port)
	const rounds, fan = 4, 32
	client := newClient()
	for r := 0; r < rounds; r++ {
		callVia(t, client, port, url.Values{"to": {self + "/hello?c=heir"}, "bg": {"1"},
			"n": {fmt.Sprint(fan)}}, fmt.Sprintf("reuse-test/heir-%d", r))
		callVia(t, client, port, url.Values{"to": {self + "/hello?c=orphan"}, "bg": {"1"},
			"n": {fmt.Sprint(fan)}, "worker": {"1"}}, fmt.Sprintf("reuse-test/orphan-%d", r))
	}
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)
	spans := readOutput(t, out)

	servers := map[string]otlp.Span{} // the /call server spans, by trace id
	for r := 0; r < rounds; r++ {
		for _, kind := range []string{"heir", "orphan"} {
			ua := fmt.Sprintf("reuse-test/%s-%d", kind, r)
			if s, ok := serverSpanByUA(spans, ua); ok {
				servers[s.TraceID] = s
			} else {
				t.Errorf("no server span for %s", ua)
			}
		}
	}
	heirs, orphans := clientSpansTo(spans, "c=heir"), clientSpansTo(spans, "c=orphan")
	if len(heirs) != rounds*fan || len(orphans) != rounds*fan {
		t.Fatalf("%d and %d client spans, want %d of each", len(heirs), len(orphans), rounds*fan)
	}
	for _, s := range heirs {
		server, ok := servers[s.TraceID]
		ua, _ := server.Attributes["user_agent.original"].(string)
		if !ok || !strings.Contains(ua, "heir") || s.ParentSpanID != server.SpanID {
			t.Errorf("a call of an inheriting goroutine in trace %s (of %q) parent %q", s.TraceID,
				ua, s.ParentSpanID)
		}
	}
	for _, s := range orphans {
		if server, ok := servers[s.TraceID]; ok || s.ParentSpanID != "" {
			t.Errorf("a call of a goroutine with no request is in the trace of %v, parent %q",
				server.Attributes["user_agent.original"], s.ParentSpanID)
		}
	}
	checkSummary(t, otrace.stderr(), len(spans))
}

// TestClientSpanTrees: 64 concurrent requests, each fanning out to 4 client
// calls from goroutines; every client span must name its own request's
// server span as parent, never another's.
func TestClientSpanTrees(t *testing.T) {
	_, port, otrace, out := tracedFixture(t)

	const requests, fan = 64, 4
	client := newClient()
	errs := make(chan error, requests)
	for i := 0; i < requests; i++ {
		go func(i int) {
			q := url.Values{"to": {fmt.Sprintf("http://127.0.0.1:%d/hello?tree=%d&", port, i)}, "n": {fmt.Sprint(fan)}}
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/call?%s", port, q.Encode()), nil)
			req.Header.Set("User-Agent", fmt.Sprintf("tree/%d", i))
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != 200 {
					err = fmt.Errorf("request %d: status %d", i, resp.StatusCode)
				}
			}
			errs <- err
		}(i)
	}
	for i := 0; i < requests; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)
	spans := readOutput(t, out)

	for i := 0; i < requests; i++ {
		server, ok := serverSpanByUA(spans, fmt.Sprintf("tree/%d", i))
		if !ok {
			t.Errorf("request %d: no server span", i)
			continue
		}
		got := clientSpansTo(spans, fmt.Sprintf("tree=%d&", i))
		if len(got) != fan {
			t.Errorf("request %d: %d client spans, want %d", i, len(got), fan)
		}
		for _, s := range got {
			if s.TraceID != server.TraceID || s.ParentSpanID != server.SpanID {
				t.Errorf("request %d: client span %s has trace %s parent %s, want %s parent %s",
					i, s.SpanID, s.TraceID, s.ParentSpanID, server.TraceID, server.SpanID)
			}
		}
	}
	checkSummary(t, otrace.stderr(), len(spans))
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// dropsSecondRequest is an HTTP/1.1 server that answers the first request on
// each connection, keeping it alive, and closes the connection when the
// second one arrives, unanswered: the client sees its idle connection die
// under the request, which net/http resends on a new connection.
type dropsSecondRequest struct {
	ln    net.Listener
	mu    sync.Mutex
	seen  map[string]int // request target -> times received
	conns int            // connections accepted
	// hold, when set, keeps the requests of every connection after the
	// first unanswered until it is closed
	hold chan struct{}
}

func newDropsSecondRequest(t *testing.T) *dropsSecondRequest {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &dropsSecondRequest{ln: ln, seen: map[string]int{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go d.serve(c)
		}
	}()
	return d
}

func (d *dropsSecondRequest) serve(c net.Conn) {
	defer c.Close()
	d.mu.Lock()
	later := d.conns > 0
	d.conns++
	d.mu.Unlock()
	br := bufio.NewReader(c)
	for n := 0; ; n++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		d.mu.Lock()
		d.seen[req.URL.RequestURI()]++
		d.mu.Unlock()
		if n == 1 && !later {
			return
		}
		if later && d.hold != nil {
			<-d.hold
		}
		fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") // an empty body: the caller reads it all
	}
}

func (d *dropsSecondRequest) times(target string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seen[target]
}

// TestClientRetry: when net/http resends a request on a new connection
// because the server closed the kept-alive one under it, each attempt is its
// own CLIENT span (semantic conventions): the first with its error, the
// resent one with http.request.resend_count 1 and its response, both
// children of the server span; the call the application saw succeed is not
// reported as failed.
func TestClientRetry(t *testing.T) {
	_, port, otrace, out := tracedFixture(t)
	srv := newDropsSecondRequest(t)
	base := "http://" + srv.ln.Addr().String()
	client := newClient()
	// the first call leaves an idle connection in the fixture's pool, the
	// second is sent on it, dropped, and resent
	for _, c := range []string{"first", "retried"} {
		if got := callVia(t, client, port, url.Values{"to": {base + "/r?c=" + c}}, "retry/"+c); got != "200\n" {
			t.Fatalf("%s: the fixture's call answered %q, want 200", c, got)
		}
	}
	if n := srv.times("/r?c=retried"); n != 2 {
		t.Fatalf("the server saw the second request %d times, want 2 (net/http did not resend it)", n)
	}
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)
	spans := readOutput(t, out)

	if got := clientSpansTo(spans, "c=first"); len(got) != 1 || got[0].Attributes["http.request.resend_count"] != nil {
		t.Errorf("first call: %d spans %v, want 1 without resend_count", len(got), got)
	}
	server, ok := serverSpanByUA(spans, "retry/retried")
	if !ok {
		t.Fatal("no server span for the retried call")
	}
	attempts := clientSpansTo(spans, "c=retried")
	if len(attempts) != 2 {
		t.Fatalf("retried call: %d client spans, want 2 (one per attempt)", len(attempts))
	}
	sort.Slice(attempts, func(i, j int) bool { return attempts[i].StartUnixNano < attempts[j].StartUnixNano })
	failed, resent := attempts[0], attempts[1]
	if failed.StatusCode != statusError || failed.Attributes["error.type"] == nil ||
		failed.Attributes["http.response.status_code"] != nil || failed.Attributes["http.request.resend_count"] != nil {
		t.Errorf("first attempt: status %d %v, want ERROR with error.type, no status code, no resend_count",
			failed.StatusCode, failed.Attributes)
	}
	if resent.StatusCode == statusError || resent.Attributes["http.response.status_code"] != int64(200) ||
		resent.Attributes["http.request.resend_count"] != int64(1) {
		t.Errorf("resent attempt: status %d %v, want 200 and resend_count 1", resent.StatusCode, resent.Attributes)
	}
	if failed.SpanID == resent.SpanID || failed.EndUnixNano > resent.StartUnixNano {
		t.Errorf("attempts: spans %s [%d, %d] and %s [%d, %d]: want two, one after the other",
			failed.SpanID, failed.StartUnixNano, failed.EndUnixNano, resent.SpanID, resent.StartUnixNano, resent.EndUnixNano)
	}
	for _, a := range attempts {
		if a.TraceID != server.TraceID || a.ParentSpanID != server.SpanID {
			t.Errorf("attempt %s: not a child of the /call span", a.SpanID)
		}
	}
	checkSummary(t, otrace.stderr(), len(spans))
	checkNothingLost(t, otrace.stderr())
}

// TestClientRetryInFlight: a resent attempt still waiting for its response
// when tracing stops is in flight, counted as such (its request's server
// span too): written + lost = the spans of the requests served, none
// "in flight at attach".
func TestClientRetryInFlight(t *testing.T) {
	_, port, otrace, out := tracedFixture(t)
	srv := newDropsSecondRequest(t)
	srv.hold = make(chan struct{})
	base := "http://" + srv.ln.Addr().String()
	client := newClient()
	if got := callVia(t, client, port, url.Values{"to": {base + "/r?c=first"}}, "retry/first"); got != "200\n" {
		t.Fatalf("first: the fixture's call answered %q, want 200", got)
	}
	held := make(chan error, 1)
	go func() {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/call?%s", port,
			url.Values{"to": {base + "/r?c=held"}}.Encode()))
		if err == nil {
			resp.Body.Close()
		}
		held <- err
	}()
	deadline := time.Now().Add(exitTimeout)
	for srv.times("/r?c=held") < 2 {
		if time.Now().After(deadline) {
			close(srv.hold)
			t.Fatalf("the server saw the held request %d times, want 2 (net/http did not resend it)", srv.times("/r?c=held"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	otrace.signal(t, syscall.SIGTERM)
	otrace.expectExit(t, exitTimeout, 0)
	close(srv.hold)
	if err := <-held; err != nil {
		t.Errorf("the held call, released: %v", err)
	}
	spans := readOutput(t, out)
	// first call: its server and client span; held call: its failed attempt
	// written, its resent attempt and its server span in flight
	checkAccounting(t, exitLine(t, otrace.stderr()), len(spans), 5, 2)
	if got := clientSpansTo(spans, "c=held"); len(got) != 1 || got[0].StatusCode != statusError {
		t.Errorf("held call: %d client spans written, want its failed first attempt alone", len(got))
	}
}
