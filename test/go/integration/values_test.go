package integration

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialLocal connects to 127.0.0.1:port, for talking to a server by hand; the
// connection gives up after 10 s.
func dialLocal(t *testing.T, port int) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// rawGet sends one HTTP/1.1 GET with the given Host header and User-Agent
// ua over a connection of its own and reads the status line.
func rawGet(t *testing.T, port int, target, host, ua string) string {
	t.Helper()
	c := dialLocal(t, port)
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nConnection: close\r\n\r\n", target, host, ua)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}

// TestServerValues: what otrace records is what the request was, or nothing.
// A Host header longer than otrace's capture gives no server.port (not one
// parsed from the cut string, nor the default), and no server.address when
// the cut falls inside the host name; url.path is the path received,
// decoded as net/http decodes URL.Path ('+' stays), whether or not the
// handler rewrites r.URL.Path in place (the fixture's /spa/ serves its index
// for every path, as single-page apps do); url.query the query received,
// undecoded, the values of secret parameters redacted, none when empty.
func TestServerValues(t *testing.T) {
	_, port, otrace, out := tracedFixture(t)
	long := strings.Repeat("h", 200)
	hosts := map[string]struct {
		host, address string // address "": none
	}{
		"values/port-cut": {long[:118] + ".example:4567", long[:118] + ".example"}, // kept: "…:4"
		"values/host-cut": {long + ".example:4567", ""},
		"values/short":    {"example.com:4567", "example.com"},
	}
	for ua, h := range hosts {
		if got := rawGet(t, port, "/hello", h.host, ua); !strings.HasPrefix(got, "HTTP/1.1 200") {
			t.Fatalf("%s: %s", ua, got)
		}
	}
	paths := map[string]struct{ path, query string }{ // target -> url.path, url.query ("": none)
		"/spa/deep/link":    {"/spa/deep/link", ""},
		"/spa/a%20b+c?x=1":  {"/spa/a b+c", "x=1"}, // rewritten and escaped: as received, decoded
		"/spa/settings?x=1": {"/spa/settings", "x=1"},
		"/status/2%300?x=1": {"/status/200", "x=1"}, // escaped, left alone: the same
		// the query as received, not decoded; secret parameters' values redacted
		"/spa/q?a=%20b+c&sig=s3cr3t&X-Amz-Signature=abc&z": {"/spa/q", "a=%20b+c&sig=REDACTED&X-Amz-Signature=REDACTED&z"},
		"/spa/empty?": {"/spa/empty", ""},
	}
	for target := range paths {
		if got := rawGet(t, port, target, "example.com", "values/path"+target); !strings.HasPrefix(got, "HTTP/1.1 200") {
			t.Fatalf("%s: %s", target, got)
		}
	}
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)
	spans := readOutput(t, out)

	for ua, h := range hosts {
		s, ok := serverSpanByUA(spans, ua)
		if !ok {
			t.Errorf("%s: no span", ua)
			continue
		}
		addr, hasAddr := s.Attributes["server.address"]
		p, hasPort := s.Attributes["server.port"]
		switch {
		case h.address == "" && hasAddr:
			t.Errorf("%s: server.address %v from a host cut short", ua, addr)
		case h.address != "" && addr != h.address:
			t.Errorf("%s: server.address %v, want %s", ua, addr, h.address)
		}
		if wantPort := ua == "values/short"; hasPort != wantPort || (wantPort && p != int64(4567)) {
			t.Errorf("%s: server.port %v (present %v)", ua, p, hasPort)
		}
	}
	for target, want := range paths {
		s, ok := serverSpanByUA(spans, "values/path"+target)
		if !ok {
			t.Errorf("%s: no span", target)
			continue
		}
		if s.Attributes["url.path"] != want.path {
			t.Errorf("%s: url.path %v, want %s", target, s.Attributes["url.path"], want.path)
		}
		if q, has := s.Attributes["url.query"]; has != (want.query != "") || (has && q != want.query) {
			t.Errorf("%s: url.query %v (present %v), want %q", target, q, has, want.query)
		}
	}
	checkSummary(t, otrace.stderr(), len(spans))
	checkNothingLost(t, otrace.stderr())
}
