package integration

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"otrace.test/gotests/internal/otlp"
)

// OTLP enum values, as the JSON encoding writes them (integers).
const (
	spanKindServer  = 2
	statusUnset     = 0
	statusError     = 2
	timeSlack       = 2 * time.Second // clock/flush slack around our own timestamps
	uaMinKeptPrefix = 100             // bytes of a long User-Agent otrace must keep
)

// request is one HTTP request a test sends and the span it expects for it.
type request struct {
	method string
	target string // path plus optional query, as sent
	path   string // expected url.path
	query  string // expected url.query: the query sent ("": none)
	ua     string // unique per request: spans are matched to requests by it
	status int    // expected response status
	route  string // http.route with Go >= 1.22 fixtures; "" when no pattern matched
	minDur time.Duration

	sent, done time.Time // wall clock around the exchange
}

// uaSerial makes User-Agent values unique across a test binary run.
var (
	uaMu     sync.Mutex
	uaSerial int
)

func uniqueUA(tag string) string {
	uaMu.Lock()
	defer uaMu.Unlock()
	uaSerial++
	return fmt.Sprintf("otrace-it/%d (%s)", uaSerial, tag)
}

func newRequest(method, target string, status int, route string) *request {
	path, query, _ := strings.Cut(target, "?")
	return &request{
		method: method, target: target, path: path, query: query, status: status, route: route,
		ua: uniqueUA(method + " " + target),
	}
}

// mixedRequests returns n >= 40 requests over every fixture route, several
// methods and status codes (incl. 500 and 503), plus User-Agents with
// invalid UTF-8 and one longer than otrace may keep.
func mixedRequests(n int) []*request {
	base := []*request{
		newRequest("GET", "/hello", 200, "/hello"),
		newRequest("HEAD", "/hello", 200, "/hello"), // a GET pattern also serves HEAD
		newRequest("POST", "/hello", 405, ""),       // path known, method not: no pattern
		newRequest("GET", "/items/42", 200, "/items/{id}"),
		newRequest("GET", "/items/abc?verbose=1&x=%20", 200, "/items/{id}"), // query is not part of url.path
		newRequest("POST", "/items", 201, "/items"),
		newRequest("DELETE", "/items/7", 204, "/items/{id}"),
		newRequest("GET", "/status/200", 200, "/status/{code}"),
		newRequest("GET", "/status/404", 404, "/status/{code}"),
		newRequest("GET", "/status/500", 500, "/status/{code}"),
		newRequest("PATCH", "/status/500", 500, "/status/{code}"),
		newRequest("POST", "/status/503", 503, "/status/{code}"),
		newRequest("GET", "/status/503", 503, "/status/{code}"),
		newRequest("OPTIONS", "/status/204", 204, "/status/{code}"),
		newRequest("PUT", "/status/429", 429, "/status/{code}"),
		newRequest("GET", "/status/599", 599, "/status/{code}"),
		newRequest("PUT", "/nowrite", 200, "/nowrite"), // handler writes nothing: implicit 200
		newRequest("GET", "/no/such/path", 404, ""),
	}
	slow := newRequest("GET", "/slow", 200, "/slow")
	slow.minDur = 30 * time.Millisecond // the handler sleeps that long

	// Invalid UTF-8 in a header value is legal on the wire (obs-text); the
	// OTLP string attribute must be valid UTF-8 with U+FFFD instead.
	bad := newRequest("GET", "/hello", 200, "/hello")
	bad.ua = "otrace-it/bad-utf8-\xff\xfe-" + bad.ua
	// 200 bytes: otrace may truncate, but must keep a prefix of >= 100 bytes,
	// and those 100 bytes are unique to this request.
	long := newRequest("GET", "/items/long", 200, "/items/{id}")
	long.ua = long.ua + " " + strings.Repeat("L", 200)
	long.ua = long.ua[:200]
	reqs := append(base, slow, bad, long)

	for i := 0; len(reqs) < n; i++ {
		switch i % 4 {
		case 0:
			reqs = append(reqs, newRequest("GET", fmt.Sprintf("/items/%d", 1000+i), 200, "/items/{id}"))
		case 1:
			reqs = append(reqs, newRequest("DELETE", fmt.Sprintf("/items/%d", 1000+i), 204, "/items/{id}"))
		case 2:
			reqs = append(reqs, newRequest("GET", "/status/500", 500, "/status/{code}"))
		case 3:
			reqs = append(reqs, newRequest("PUT", "/nowrite", 200, "/nowrite"))
		}
	}
	return reqs
}

// newClient returns a client that talks only to the fixture: no proxy from
// the environment, no redirects followed, bounded time per request.
func newClient() *http.Client {
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// send performs r against the fixture over HTTP/1.1 and checks the response
// status; it records the wall-clock window the span must fall into.
func send(c *http.Client, port int, r *request) error {
	return sendTo(c, fmt.Sprintf("http://127.0.0.1:%d", port), 1, r)
}

// sendTo is send to base ("scheme://host:port"), where the response must
// come in HTTP version major.
func sendTo(c *http.Client, base string, major int, r *request) error {
	var body io.Reader
	if r.method == "POST" || r.method == "PUT" {
		body = strings.NewReader(`{"name":"otrace"}`)
	}
	req, err := http.NewRequest(r.method, base+r.target, body)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", r.ua)
	r.sent = time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %v", r.method, r.target, err)
	}
	// Drain so that keep-alive connections are reused: otrace must tell
	// apart several requests served on one connection.
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r.done = time.Now()
	if resp.StatusCode != r.status {
		return fmt.Errorf("%s %s: fixture answered %d, want %d", r.method, r.target, resp.StatusCode, r.status)
	}
	if resp.ProtoMajor != major {
		return fmt.Errorf("%s %s: answered over %s, want HTTP/%d", r.method, r.target, resp.Proto, major)
	}
	return nil
}

func sendAll(t *testing.T, c *http.Client, port int, reqs []*request) {
	t.Helper()
	for _, r := range reqs {
		if err := send(c, port, r); err != nil {
			t.Fatal(err)
		}
	}
}

// sendConcurrently sends all requests at once (released by one barrier).
func sendConcurrently(t *testing.T, c *http.Client, port int, reqs []*request) {
	t.Helper()
	start := make(chan struct{})
	errs := make(chan error, len(reqs))
	var wg sync.WaitGroup
	for _, r := range reqs {
		wg.Add(1)
		go func(r *request) {
			defer wg.Done()
			<-start
			errs <- send(c, port, r)
		}(r)
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// uaMatches reports whether the user_agent.original otrace recorded stands
// for the User-Agent we sent: equal, or with invalid UTF-8 replaced by U+FFFD
// (per byte, or per run as strings.ToValidUTF8 does), or truncated to a
// prefix of at least uaMinKeptPrefix bytes.
func uaMatches(sent, got string) bool {
	if !utf8.ValidString(sent) {
		return got == replacePerByte(sent) || got == strings.ToValidUTF8(sent, "\uFFFD")
	}
	return got == sent || (len(got) >= uaMinKeptPrefix && strings.HasPrefix(sent, got))
}

func replacePerByte(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// serverEnv is what every server span of one test shares.
type serverEnv struct {
	port     int
	hasRoute bool
	h2       bool // the requests came over TLS, in HTTP/2
}

var (
	traceIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)
	spanIDRE  = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// checkServerSpans matches spans to requests by User-Agent and checks each
// against the stable HTTP server semantic conventions: exactly one span per
// request, nothing else.
func checkServerSpans(t *testing.T, spans []otlp.Span, reqs []*request, env serverEnv) {
	t.Helper()
	if len(spans) != len(reqs) {
		t.Errorf("got %d spans for %d requests", len(spans), len(reqs))
	}
	matched := make(map[*request]bool)
	traceIDs := make(map[string]bool)
	spanIDs := make(map[string]bool)
	for i, s := range spans {
		what := fmt.Sprintf("span %d %q", i, s.Name)
		// Ids are checked here too so that duplicates are reported even
		// for spans that match no request.
		if traceIDs[s.TraceID] {
			t.Errorf("%s: trace id %s is not unique", what, s.TraceID)
		}
		traceIDs[s.TraceID] = true
		if spanIDs[s.SpanID] {
			t.Errorf("%s: span id %s is not unique", what, s.SpanID)
		}
		spanIDs[s.SpanID] = true

		ua, _ := s.Attributes["user_agent.original"].(string)
		var r *request
		for _, cand := range reqs {
			if uaMatches(cand.ua, ua) {
				r = cand
				break
			}
		}
		if r == nil {
			t.Errorf("%s: user_agent.original %q matches no request sent; attributes %v", what, ua, s.Attributes)
			continue
		}
		if matched[r] {
			t.Errorf("%s: second span for request %s %s", what, r.method, r.target)
			continue
		}
		matched[r] = true
		checkServerSpan(t, s, r, env)
	}
	for _, r := range reqs {
		if !matched[r] {
			t.Errorf("no span for request %s %s (status %d, User-Agent %q)", r.method, r.target, r.status, r.ua)
		}
	}
}

func checkServerSpan(t *testing.T, s otlp.Span, r *request, env serverEnv) {
	t.Helper()
	what := fmt.Sprintf("span for %s %s", r.method, r.target)
	errorf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: %s", what, fmt.Sprintf(format, args...))
	}

	if s.Kind != spanKindServer {
		errorf("kind %d, want %d (SERVER)", s.Kind, spanKindServer)
	}
	if !traceIDRE.MatchString(s.TraceID) {
		errorf("trace id %q is not 16 non-zero bytes", s.TraceID)
	}
	if !spanIDRE.MatchString(s.SpanID) {
		errorf("span id %q is not 8 non-zero bytes", s.SpanID)
	}
	if s.ParentSpanID != "" {
		errorf("has parent %s; requests carry no trace context", s.ParentSpanID)
	}

	// Span name: "{method} {http.route}" when the route is known, else
	// "{method}" (semconv HTTP server span name).
	route := ""
	if env.hasRoute {
		route = r.route
	}
	wantName := r.method
	if route != "" {
		wantName += " " + route
	}
	if s.Name != wantName {
		errorf("name %q, want %q", s.Name, wantName)
	}

	scheme, proto := "http", "1.1"
	if env.h2 {
		scheme, proto = "https", "2"
	}
	want := map[string]any{
		"http.request.method":       r.method,
		"url.path":                  r.path,
		"url.scheme":                scheme,
		"http.response.status_code": int64(r.status),
		"server.address":            "127.0.0.1",
		"server.port":               int64(env.port),
		"client.address":            "127.0.0.1",
		"network.peer.address":      "127.0.0.1",
		"network.protocol.version":  proto,
	}
	if route != "" {
		want["http.route"] = route
	}
	if r.query != "" {
		want["url.query"] = r.query // as sent: not decoded
	} else if q, ok := s.Attributes["url.query"]; ok {
		errorf("url.query %#v on a request without a query", q)
	}
	for k, v := range want {
		got, ok := s.Attributes[k]
		switch {
		case !ok:
			errorf("attribute %s missing", k)
		case got != v: // also catches a wrong type, e.g. "200" for 200
			errorf("attribute %s = %#v (%T), want %#v (%T)", k, got, got, v, v)
		}
	}
	// net/http reads no forwarding headers: the client is the connection's peer
	if p, ok := s.Attributes["client.port"].(int64); !ok || p <= 0 || s.Attributes["network.peer.port"] != p {
		errorf("client.port %#v, network.peer.port %#v: want the same port", s.Attributes["client.port"], s.Attributes["network.peer.port"])
	}
	if got, ok := s.Attributes["http.route"]; ok && route == "" {
		errorf("http.route %#v present, but no pattern matched (or the fixture predates Go 1.22)", got)
	}

	wantStatus := statusUnset
	if r.status >= 500 {
		wantStatus = statusError
	}
	if s.StatusCode != wantStatus {
		errorf("status code %d, want %d for HTTP %d", s.StatusCode, wantStatus, r.status)
	}

	start := time.Unix(0, int64(s.StartUnixNano))
	end := time.Unix(0, int64(s.EndUnixNano))
	if s.StartUnixNano == 0 || s.EndUnixNano < s.StartUnixNano {
		errorf("bad times: start %d, end %d", s.StartUnixNano, s.EndUnixNano)
	}
	if start.Before(r.sent.Add(-timeSlack)) || end.After(r.done.Add(timeSlack)) {
		errorf("span [%v, %v] is not within the request's window [%v, %v] ± %v",
			start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano),
			r.sent.Format(time.RFC3339Nano), r.done.Format(time.RFC3339Nano), timeSlack)
	}
	if d := end.Sub(start); d < r.minDur {
		errorf("lasted %v, want >= %v", d, r.minDur)
	}
}

// resourceWant is the expected resource of the traced fixture process.
type resourceWant struct {
	serviceName string
	pid         int
	fx          fixtureInfo
}

// checkResource checks the resource and scope shared by all spans.
func checkResource(t *testing.T, spans []otlp.Span, want resourceWant) {
	t.Helper()
	if len(spans) == 0 {
		return
	}
	res := spans[0].Resource
	for i, s := range spans {
		if !reflect.DeepEqual(s.Resource, res) {
			t.Errorf("span %d has resource %v, span 0 has %v; one process, one resource", i, s.Resource, res)
		}
		if s.ScopeName != "otrace" {
			t.Errorf("span %d: scope name %q, want \"otrace\"", i, s.ScopeName)
		}
	}

	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{
		"service.name":            want.serviceName,
		"process.pid":             int64(want.pid),
		"process.runtime.name":    "go",
		"process.runtime.version": want.fx.goVersion,
		"host.name":               hostname,
		"telemetry.sdk.name":      "otrace",
		"telemetry.sdk.language":  "go",
	} {
		if got, ok := res[k]; !ok {
			t.Errorf("resource attribute %s missing; resource %v", k, res)
		} else if got != v {
			t.Errorf("resource attribute %s = %#v (%T), want %#v (%T)", k, got, got, v, v)
		}
	}
	if v, _ := res["telemetry.sdk.version"].(string); v == "" {
		t.Errorf("resource attribute telemetry.sdk.version = %#v, want a non-empty string", res["telemetry.sdk.version"])
	}
	// The path as exec'd or as the kernel resolves it (/proc/PID/exe): both
	// name the fixture binary.
	exe, _ := res["process.executable.path"].(string)
	if !filepath.IsAbs(exe) || !sameFile(exe, want.fx.path) {
		t.Errorf("resource attribute process.executable.path = %#v, want the absolute path of %s", res["process.executable.path"], want.fx.path)
	}
}
