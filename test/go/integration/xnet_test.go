package integration

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"otrace.test/gotests/internal/otlp"
)

// The golang.org/x/net releases the x/net tests build test/fixtures/xnethttp2
// with: the fixture's go.mod pins the oldest; the newest is the newest the
// module proxy served when the test was written.
const (
	oldestXNet = "v0.1.0"
	newestXNet = "v0.62.0"
)

// xnetFixture builds test/fixtures/xnethttp2 against an x/net release (and
// go build flags), once per test binary run.
func xnetFixture(t *testing.T, release string, buildFlags ...string) string {
	t.Helper()
	key := "xnethttp2-" + release + strings.NewReplacer(" ", "", "=", "").Replace(strings.Join(buildFlags, ""))
	return goFixture(t, "xnethttp2", key, append([]string{release}, buildFlags...)...)
}

// xnetProc is the xnethttp2 fixture traced by otrace -p.
type xnetProc struct {
	target, otrace   *proc
	out              string
	h2cPort, tlsPort int
}

func startXNet(t *testing.T, fixturePath string) xnetProc {
	t.Helper()
	bin := otraceBin(t)
	requireRoot(t)
	dir := t.TempDir()
	x := xnetProc{out: filepath.Join(dir, "out.jsonl")}
	portFile, tlsPortFile := filepath.Join(dir, "port"), filepath.Join(dir, "tlsport")
	x.target = startProc(t, dir, "fixture", nil, fixturePath, "-portfile", portFile, "-tlsportfile", tlsPortFile)
	x.h2cPort = waitPortFile(t, portFile, x.target)
	x.tlsPort = waitPortFile(t, tlsPortFile, x.target)
	x.otrace = attachPID(t, dir, bin, x.target.pid(), nil, "-o", x.out)
	return x
}

// h2cClient speaks HTTP/2 in cleartext with prior knowledge.
func h2cClient() *http.Client {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: &protocols}}
}

// get sends GET url with User-Agent ua; the response must be HTTP/2. It
// returns the status code, or 0 when the server reset the stream.
func xnetGet(t *testing.T, c *http.Client, url, ua string) int {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", ua)
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("GET %s answered over %s, want HTTP/2", url, resp.Proto)
	}
	return resp.StatusCode
}

// h2cUpgrade sends GET target over HTTP/1.1 asking to upgrade to h2c (RFC
// 7540 3.2) and reads the answer, which comes as HTTP/2 stream 1; it returns
// the :status (200 as HPACK's indexed 0x88, else 0) once the stream ended.
func h2cUpgrade(t *testing.T, port int, target, ua string) int {
	t.Helper()
	c := dialLocal(t, port)
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: %s\r\n"+
		"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
		target, port, ua)
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 101 ") {
		t.Fatalf("h2c upgrade: %q %v", status, err)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	c.Write([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"))
	code := 0
	for {
		var hdr [9]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			t.Fatalf("h2c upgrade: reading frames: %v", err)
		}
		length := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		typ, flags, stream := hdr[3], hdr[4], binary.BigEndian.Uint32(hdr[5:])&0x7fffffff
		payload := make([]byte, length)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatal(err)
		}
		if typ == 4 && flags&1 == 0 { // SETTINGS: acknowledge
			c.Write([]byte{0, 0, 0, 4, 1, 0, 0, 0, 0})
		}
		if stream != 1 || (typ != 0 && typ != 1) {
			continue
		}
		if typ == 1 && length > 0 && payload[0] == 0x88 {
			code = 200
		}
		if flags&1 != 0 { // END_STREAM
			return code
		}
	}
}

// TestXNetHTTP2: servers and clients of golang.org/x/net/http2 (its own
// copy of HTTP/2, not the one bundled in net/http), for the oldest and newest
// x/net release tested: one SERVER span per request over TLS
// (http2.ConfigureServer), h2c with prior knowledge and h2c upgrade, with the
// right status, network.protocol.version "2", panics as panics, multiplexed
// streams each their own span, no span for h2c's "PRI *" preface, url.path as
// received when the handler rewrites it; CLIENT spans, children of the
// server span, for a Transport set up with http2.ConfigureTransport and for
// an http2.Transport used directly (TLS and h2c). HTTP/1.1 requests served
// afterwards, on goroutines the x/net handlers' may be reused for, stay
// exact. Nothing may be lost.
func TestXNetHTTP2(t *testing.T) {
	otraceBin(t)
	requireRoot(t)
	for _, release := range []string{oldestXNet, newestXNet} {
		t.Run(release, func(t *testing.T) { testXNetHTTP2(t, xnetFixture(t, release), false) })
	}
	// without DWARF x/net's responseWriter layout is not known (until the
	// binary's type data is read): its spans come without a status code
	t.Run(newestXNet+"-stripped", func(t *testing.T) {
		testXNetHTTP2(t, xnetFixture(t, newestXNet, strippedFlags...), true)
	})
}

func testXNetHTTP2(t *testing.T, fixturePath string, stripped bool) {
	x := startXNet(t, fixturePath)
	tlsBase := fmt.Sprintf("https://127.0.0.1:%d", x.tlsPort)
	h2cBase := fmt.Sprintf("http://127.0.0.1:%d", x.h2cPort)
	tlsClient, h2c := newH2Client(), h2cClient()

	type want struct {
		path   string
		status int64 // 0: none
		panic  bool
		scheme string
	}
	wants := map[string]want{} // by User-Agent
	get := func(c *http.Client, base, target, ua string, status int) {
		t.Helper()
		if got := xnetGet(t, c, base+target, ua); got != status {
			t.Fatalf("%s%s: status %d, want %d", base, target, got, status)
		}
	}
	for _, s := range []struct {
		name string
		c    *http.Client
		base string
	}{{"tls", tlsClient, tlsBase}, {"h2c", h2c, h2cBase}} {
		scheme := strings.SplitN(s.base, ":", 2)[0]
		for _, r := range []struct {
			target string
			status int
			want   want
		}{
			{"/hello", 200, want{path: "/hello", status: 200}},
			{"/status/404", 404, want{path: "/status/404", status: 404}},
			{"/status/503", 503, want{path: "/status/503", status: 503}},
			{"/panic", 0, want{path: "/panic", panic: true}},
			{"/written-panic", 202, want{path: "/written-panic", status: 202, panic: true}},
			{"/spa/deep/link", 200, want{path: "/spa/deep/link", status: 200}},
		} {
			ua := "xnet/" + s.name + r.target
			get(s.c, s.base, r.target, ua, r.status)
			r.want.scheme = scheme
			wants[ua] = r.want
		}
	}
	if code := h2cUpgrade(t, x.h2cPort, "/hello?up=1", "xnet/upgrade"); code != 200 {
		t.Fatalf("h2c upgrade: status %d, want 200", code)
	}
	wants["xnet/upgrade"] = want{path: "/hello", status: 200, scheme: "http"}

	muxPort := sendMultiplexed(t, tlsBase)

	calls := map[string]string{ // via -> callee URL
		"configure": tlsBase + "/hello?c=configure",
		"direct":    tlsBase + "/hello?c=direct",
		"h2c":       h2cBase + "/hello?c=h2c",
	}
	for via, to := range calls {
		q := url.Values{"via": {via}, "to": {to}}
		if got := xnetGet(t, h2c, h2cBase+"/call?"+q.Encode(), "xnet/call/"+via); got != 200 {
			t.Fatalf("/call via %s: %d", via, got)
		}
	}

	// HTTP/1.1 afterwards, on fresh connections: the goroutines of the x/net
	// handlers that ended are reused for them
	h1 := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	const plain = 40
	for i := 0; i < plain; i++ {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/hello?h1=%d", h2cBase, i), nil)
		req.Header.Set("User-Agent", "xnet/h1")
		resp, err := h1.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 1 || resp.StatusCode != 200 {
			t.Fatalf("HTTP/1.1 request: %s %d", resp.Proto, resp.StatusCode)
		}
	}

	x.otrace.signal(t, syscall.SIGINT)
	x.otrace.expectExit(t, exitTimeout, 0)
	spans := readOutput(t, x.out)

	byUA := map[string][]otlp.Span{}
	var clients []otlp.Span
	for _, s := range spans {
		if s.Kind == spanKindClient {
			clients = append(clients, s)
			continue
		}
		ua, _ := s.Attributes["user_agent.original"].(string)
		byUA[ua] = append(byUA[ua], s)
		if code, ok := s.Attributes["http.response.status_code"].(int64); ok && (code < 100 || code > 599) {
			t.Errorf("span %s (%s): http.response.status_code %d", s.Name, ua, code)
		}
		if s.Attributes["http.request.method_original"] == "PRI" || s.Attributes["url.path"] == "*" {
			t.Errorf("a span for h2c's preface: %s %v", s.Name, s.Attributes)
		}
		if d := time.Duration(s.EndUnixNano - s.StartUnixNano); s.EndUnixNano < s.StartUnixNano || d > 5*time.Second {
			t.Errorf("span %s (%s) lasted %v", s.Name, ua, d)
		}
	}
	for ua, w := range wants {
		got := byUA[ua]
		if len(got) != 1 {
			t.Errorf("%s: %d server spans, want 1", ua, len(got))
			continue
		}
		s := got[0]
		code, hasCode := s.Attributes["http.response.status_code"]
		if w.status == 0 && hasCode || w.status != 0 && code != w.status && !(stripped && !hasCode) {
			t.Errorf("%s: http.response.status_code %v, want %d", ua, code, w.status)
		}
		for k, v := range map[string]any{"url.path": w.path, "network.protocol.version": "2", "url.scheme": w.scheme} {
			if s.Attributes[k] != v {
				t.Errorf("%s: %s = %#v, want %#v", ua, k, s.Attributes[k], v)
			}
		}
		isErr := s.StatusCode == statusError
		if w.panic && (!isErr || s.Attributes["error.type"] != "panic") {
			t.Errorf("%s: status %d error.type %v, want ERROR panic", ua, s.StatusCode, s.Attributes["error.type"])
		}
		if !w.panic && isErr != (w.status >= 500) && !(stripped && !hasCode) {
			t.Errorf("%s: status %d with code %d", ua, s.StatusCode, w.status)
		}
	}
	for i := 0; i < multiplexed; i++ {
		ua := fmt.Sprintf("h2/mux/%d", i)
		if got := byUA[ua]; len(got) != 1 {
			t.Errorf("%s: %d server spans, want 1", ua, len(got))
		} else if s := got[0]; s.Attributes["url.path"] != fmt.Sprintf("/items/m%d", i) ||
			s.Attributes["client.port"] != int64(muxPort) ||
			(s.Attributes["http.response.status_code"] != int64(200) && !stripped) {
			t.Errorf("%s: %v", ua, s.Attributes)
		}
	}
	if got := byUA["xnet/h1"]; len(got) != plain {
		t.Errorf("%d HTTP/1.1 spans, want %d", len(got), plain)
	} else {
		for _, s := range got {
			if s.Attributes["http.response.status_code"] != int64(200) || s.StatusCode == statusError ||
				s.Attributes["network.protocol.version"] != "1.1" {
				t.Errorf("HTTP/1.1 span: status %d %v", s.StatusCode, s.Attributes)
			}
		}
	}
	for via := range calls {
		got := clientSpansTo(clients, "c="+via)
		callSpans := byUA["xnet/call/"+via]
		if len(got) != 1 || len(callSpans) != 1 {
			t.Errorf("call via %s: %d client spans, %d /call spans, want 1 each", via, len(got), len(callSpans))
			continue
		}
		c := got[0]
		if c.Attributes["http.response.status_code"] != int64(200) || c.Attributes["network.protocol.version"] != "2" ||
			c.StatusCode == statusError {
			t.Errorf("client span via %s: status %d %v", via, c.StatusCode, c.Attributes)
		}
		if c.TraceID != callSpans[0].TraceID || c.ParentSpanID != callSpans[0].SpanID {
			t.Errorf("client span via %s: not a child of its /call span", via)
		}
		if len(byUA["Go-http-client/2.0"]) == 0 {
			t.Errorf("no server span for the calls' requests")
		}
	}
	// the wanted ones, the multiplexed and their warm-up, the HTTP/1.1 ones,
	// and each call's /call span, client span and the server span of its request
	if n := len(wants) + multiplexed + 1 + plain + 3*len(calls); len(spans) != n {
		t.Errorf("%d spans, want %d", len(spans), n)
	}
	checkSummary(t, x.otrace.stderr(), len(spans))
	checkNothingLost(t, x.otrace.stderr())
}
