package integration

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"otrace.test/gotests/internal/otlp"
)

// tracedTLSFixture is tracedFixture with the fixture also serving over TLS,
// where net/http offers HTTP/2; it returns both ports.
func tracedTLSFixture(t *testing.T) (port, tlsPort int, otrace *proc, out string) {
	t.Helper()
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	portFile, tlsPortFile := filepath.Join(dir, "port"), filepath.Join(dir, "tlsport")
	target := startProc(t, dir, "fixture", nil, fx.path, "-portfile", portFile, "-tlsportfile", tlsPortFile)
	port = waitPortFile(t, portFile, target)
	tlsPort = waitPortFile(t, tlsPortFile, target) // written before the port file
	out = filepath.Join(dir, "out.jsonl")
	otrace = attachPID(t, dir, bin, target.pid(), nil, "-o", out)
	return port, tlsPort, otrace, out
}

// newH2Client talks HTTP/2 to the fixture's self-signed TLS endpoint.
func newH2Client() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:             nil,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			ForceAttemptHTTP2: true, // a custom TLS config turns HTTP/2 off otherwise
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// h2Get sends GET base+target with User-Agent ua (and extra headers) and
// returns the response, which must be HTTP/2, with its body read.
func h2Get(t *testing.T, c *http.Client, base, target, ua string, header http.Header) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequest("GET", base+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", ua)
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.ProtoMajor != 2 {
		t.Fatalf("GET %s answered over %s, want HTTP/2", target, resp.Proto)
	}
	return resp, string(body), nil
}

var (
	unfinishedRE = regexp.MustCompile(`\bunfinished=(\d+)`)
	notTracedRE  = regexp.MustCompile(`\b(\d+) requests in flight at attach not traced`)
)

// checkNothingLost wants the summary to count no span lost, no request left
// unfinished and no end without its start.
func checkNothingLost(t *testing.T, stderr string) {
	t.Helper()
	m := summaryRE.FindStringSubmatch(stderr)
	u := unfinishedRE.FindStringSubmatch(stderr)
	n := notTracedRE.FindStringSubmatch(stderr)
	if m == nil || u == nil || n == nil {
		t.Errorf("summary line not found in otrace's stderr")
		return
	}
	if m[2] != "0" || u[1] != "0" || n[1] != "0" {
		t.Errorf("summary counts requests not traced: %s", m[0])
	}
}

// TestH2ServerSpans: requests served by net/http's HTTP/2 server (TLS, h2 by
// ALPN) give the same SERVER spans as HTTP/1.1 ones, with url.scheme https
// and network.protocol.version "2": over every route and status, with an
// incoming traceparent, with a handler that panics (ERROR, error.type
// panic), with a client call made by the handler (its child), and for 64
// concurrent requests multiplexed on one connection (one span each, its own).
// Nothing may be counted lost or unfinished.
func TestH2ServerSpans(t *testing.T) {
	port, tlsPort, otrace, out := tracedTLSFixture(t)
	fx := fixture(t)
	base := fmt.Sprintf("https://127.0.0.1:%d", tlsPort)
	client := newH2Client()

	// Every route and status, one connection, one request after another;
	// HTTP/2 has no hijacking, so /hijack answers 500 like any handler.
	reqs := append(mixedRequests(40), newRequest("GET", "/hijack", 500, "/hijack"))
	for _, r := range reqs {
		if err := sendTo(client, base, 2, r); err != nil {
			t.Fatal(err)
		}
	}

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	tp := http.Header{"Traceparent": {"00-" + traceID + "-" + parentID + "-01"}}
	if _, _, err := h2Get(t, client, base, "/hello", "h2/traceparent", tp); err != nil {
		t.Fatal(err)
	}

	// A panicking handler resets its stream; the connection lives on.
	if resp, _, err := h2Get(t, client, base, "/panic", "h2/panic", nil); err == nil {
		t.Fatalf("/panic answered %d; the fixture should have panicked", resp.StatusCode)
	}
	if _, _, err := h2Get(t, client, base, "/hello", "h2/after-panic", nil); err != nil {
		t.Fatal(err)
	}

	// The handler calls the fixture's HTTP/1.1 port.
	q := url.Values{"to": {fmt.Sprintf("http://127.0.0.1:%d/hello?c=h2call", port)}}
	if _, body, err := h2Get(t, client, base, "/call?"+q.Encode(), "h2/call", nil); err != nil || body != "200\n" {
		t.Fatalf("/call: %v %q", err, body)
	}

	clientPort := sendMultiplexed(t, base)

	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)
	spans := readOutput(t, out)

	var mixed, h1, clients []otlp.Span
	extra := map[string][]otlp.Span{} // by User-Agent
	for _, s := range spans {
		ua, _ := s.Attributes["user_agent.original"].(string)
		switch {
		case s.Kind == spanKindClient:
			clients = append(clients, s)
		case s.Attributes["network.protocol.version"] == "1.1":
			h1 = append(h1, s)
		case strings.HasPrefix(ua, "h2/"):
			extra[ua] = append(extra[ua], s)
		default:
			mixed = append(mixed, s)
		}
	}
	checkServerSpans(t, mixed, reqs, serverEnv{port: tlsPort, hasRoute: fx.hasRoute, h2: true})

	one := func(ua string) (otlp.Span, bool) {
		t.Helper()
		if n := len(extra[ua]); n != 1 {
			t.Errorf("%s: %d spans, want 1", ua, n)
			return otlp.Span{}, false
		}
		s := extra[ua][0]
		for k, v := range map[string]any{"url.scheme": "https", "network.protocol.version": "2",
			"server.port": int64(tlsPort)} {
			if s.Attributes[k] != v {
				t.Errorf("%s: %s = %#v, want %#v", ua, k, s.Attributes[k], v)
			}
		}
		return s, true
	}
	if s, ok := one("h2/traceparent"); ok && (s.TraceID != traceID || s.ParentSpanID != parentID) {
		t.Errorf("traceparent: span in trace %s with parent %s, want %s and %s", s.TraceID, s.ParentSpanID, traceID, parentID)
	}
	if s, ok := one("h2/panic"); ok {
		code, hasCode := s.Attributes["http.response.status_code"]
		if s.StatusCode != statusError || s.Attributes["error.type"] != "panic" || hasCode || s.Attributes["url.path"] != "/panic" {
			t.Errorf("/panic span: status %d error.type %v status code %v path %v, want ERROR, panic, none, /panic",
				s.StatusCode, s.Attributes["error.type"], code, s.Attributes["url.path"])
		}
	}
	// the requests above, then /traceparent, /panic, /after-panic, /call and
	// its client call and HTTP/1.1 request, the warm-up and the multiplexed
	if want := len(reqs) + 7 + multiplexed; len(spans) != want {
		t.Errorf("%d spans, want %d", len(spans), want)
	}
	one("h2/mux-warmup")
	if s, ok := one("h2/after-panic"); ok && s.Attributes["http.response.status_code"] != int64(200) {
		t.Errorf("/hello after a panic: status code %v", s.Attributes["http.response.status_code"])
	}
	if call, ok := one("h2/call"); ok {
		if len(clients) != 1 || len(h1) != 1 {
			t.Errorf("/call: %d client spans and %d HTTP/1.1 server spans, want 1 and 1", len(clients), len(h1))
		} else if c := clients[0]; c.TraceID != call.TraceID || c.ParentSpanID != call.SpanID {
			t.Errorf("client span in trace %s parent %s, want trace %s parent %s (the HTTP/2 /call span)",
				c.TraceID, c.ParentSpanID, call.TraceID, call.SpanID)
		}
	}
	for i := 0; i < multiplexed; i++ {
		ua := fmt.Sprintf("h2/mux/%d", i)
		s, ok := one(ua)
		if !ok {
			continue
		}
		want := map[string]any{
			"url.path":                  fmt.Sprintf("/items/m%d", i),
			"http.response.status_code": int64(200),
			"client.port":               int64(clientPort),
			"network.peer.port":         int64(clientPort),
		}
		if fx.hasRoute {
			want["http.route"] = "/items/{id}"
		}
		for k, v := range want {
			if s.Attributes[k] != v {
				t.Errorf("%s: %s = %#v, want %#v", ua, k, s.Attributes[k], v)
			}
		}
	}
	checkSummary(t, otrace.stderr(), len(spans))
	checkNothingLost(t, otrace.stderr())
}

// multiplexed is how many requests sendMultiplexed has in flight at once.
const multiplexed = 64

// sendMultiplexed sends requests h2/mux/0..63 to /items/m<i> at once on one
// HTTP/2 connection (the handlers overlap: each waits 50 ms) and returns
// the connection's client port.
func sendMultiplexed(t *testing.T, base string) int {
	t.Helper()
	client := newH2Client()
	if _, _, err := h2Get(t, client, base, "/hello", "h2/mux-warmup", nil); err != nil {
		t.Fatal(err) // connected: every request below reuses the connection
	}
	var (
		mu    sync.Mutex
		conns = map[string]bool{}
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, multiplexed)
	)
	for i := 0; i < multiplexed; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
				mu.Lock()
				conns[info.Conn.LocalAddr().String()] = true
				mu.Unlock()
			}}
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/items/m%d?ms=50", base, i), nil)
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
			req.Header.Set("User-Agent", fmt.Sprintf("h2/mux/%d", i))
			<-start
			resp, err := client.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
					err = fmt.Errorf("request %d: %d over %s", i, resp.StatusCode, resp.Proto)
				}
			}
			errs <- err
		}(i)
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(conns) != 1 {
		t.Fatalf("the %d requests used %d connections, want 1: %v", multiplexed, len(conns), conns)
	}
	for addr := range conns {
		i := strings.LastIndexByte(addr, ':')
		p, err := strconv.Atoi(addr[i+1:])
		if err != nil {
			t.Fatalf("client address %q", addr)
		}
		return p
	}
	return 0
}
