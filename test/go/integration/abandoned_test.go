package integration

import (
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
)

// TestAbandonedRequests: a handler that panics or hijacks its connection
// never reaches net/http's normal end of request; its span must still come
// out (the panic as an ERROR with error.type "panic"), nothing may be counted
// lost, and requests after it must be traced as usual.
func TestAbandonedRequests(t *testing.T) {
	_, port, otrace, out := tracedFixture(t)

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	// a fresh connection per request: a panic closes its connection
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; i < 3; i++ {
		if resp, err := client.Get(base + "/panic"); err == nil {
			resp.Body.Close()
			t.Fatalf("/panic answered %d; the fixture should have panicked", resp.StatusCode)
		}
		resp, err := client.Get(base + "/hijack")
		if err != nil {
			t.Fatalf("/hijack: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "hijacked\n" {
			t.Fatalf("/hijack answered %q", body)
		}
		resp, err = client.Get(base + "/hello")
		if err != nil {
			t.Fatalf("/hello: %v", err)
		}
		resp.Body.Close()
	}
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)
	spans := readOutput(t, out)

	count := map[string]int{}
	for _, s := range spans {
		path, _ := s.Attributes["url.path"].(string)
		count[path]++
		code, hasCode := s.Attributes["http.response.status_code"]
		switch path {
		case "/panic":
			if s.StatusCode != statusError || s.Attributes["error.type"] != "panic" || hasCode {
				t.Errorf("/panic span: status %d error.type %v status code %v, want ERROR, panic, none",
					s.StatusCode, s.Attributes["error.type"], code)
			}
		case "/hijack":
			if s.StatusCode == statusError || hasCode {
				t.Errorf("/hijack span: status %d, status code %v: want no error and no code (net/http never answered)",
					s.StatusCode, code)
			}
		case "/hello":
			if code != int64(200) {
				t.Errorf("/hello after an abandoned request: status code %v", code)
			}
		}
	}
	for _, p := range []string{"/panic", "/hijack", "/hello"} {
		if count[p] != 3 {
			t.Errorf("%s: %d spans, want 3", p, count[p])
		}
	}
	checkSummary(t, otrace.stderr(), len(spans))
	if m := summaryRE.FindStringSubmatch(otrace.stderr()); m != nil && m[2] != "0" {
		t.Errorf("abandoned requests counted as lost: %s", m[0])
	}
}
