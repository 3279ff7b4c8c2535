package integration

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"otrace.test/gotests/internal/otlp"
)

// OTLP Span.flags bits (trace/v1/trace.proto, SpanFlags).
const (
	flagsTraceMask    = 0xff
	flagsHasIsRemote  = 0x100
	flagsIsRemote     = 0x200
	callerTrace       = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan        = "00f067aa0ba902b7"
	callerSampled     = "00-" + callerTrace + "-" + callerSpan + "-01"
	callerNotSampled  = "00-" + callerTrace + "-" + callerSpan + "-00"
	callerBadUpper    = "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + callerSpan + "-01"
	callerFutureValid = "cc-" + callerTrace + "-" + callerSpan + "-01-what-the-future-holds"
)

// contextCase is one request and what its server span must show.
type contextCase struct {
	path      string
	headers   http.Header
	continues bool   // the span joins the caller's trace
	traceFlag uint32 // expected W3C trace flags when it continues
}

func contextCases() []contextCase {
	many := http.Header{"Traceparent": {callerSampled}}
	for i := 0; i < 40; i++ { // beyond one Swiss group / hmap bucket
		many.Set(fmt.Sprintf("X-Extra-%02d", i), strings.Repeat("v", i))
	}
	large := http.Header{"Traceparent": {callerSampled}}
	for i := 0; i < 6; i++ {
		large.Set(fmt.Sprintf("X-Large-%d", i), strings.Repeat("L", 4096))
	}
	return []contextCase{
		{"/items/1", http.Header{"Traceparent": {callerSampled}}, true, 1},
		{"/items/2", http.Header{"Traceparent": {callerNotSampled}}, true, 0},
		{"/items/3", http.Header{"Traceparent": {callerFutureValid}}, true, 1},
		{"/items/4", many, true, 1},
		{"/items/5", large, true, 1},
		{"/items/6", http.Header{"Traceparent": {callerBadUpper}}, false, 0},
		{"/items/7", http.Header{"Traceparent": {callerSampled, callerSampled}}, false, 0},
		{"/items/8", http.Header{}, false, 0},
	}
}

// TestIncomingTraceparent: a W3C traceparent on an incoming request makes the
// server span continue the caller's trace (same trace id, the caller's span as
// parent, sampled flag kept), also with many or large headers; an invalid or
// repeated header starts a new trace.
func TestIncomingTraceparent(t *testing.T) {
	_, port, otrace, out := tracedFixture(t)

	cases := contextCases()
	client := newClient()
	for _, c := range cases {
		req, err := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, c.path), nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, vs := range c.headers {
			req.Header[k] = vs // keep repeated values as they are
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		resp.Body.Close()
	}
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)

	got := map[string]ptrace.Span{}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = otlp.ReadLines(f, func(_ int, td ptrace.Traces) error {
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					s := spans.At(k)
					path, _ := s.Attributes().Get("url.path")
					got[path.Str()] = s
				}
			}
		}
		return nil
	}, func(e *otlp.LineError) { t.Errorf("output line %v", e) })
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range cases {
		s, ok := got[c.path]
		if !ok {
			t.Errorf("%s: no span", c.path)
			continue
		}
		flags := s.Flags()
		if flags&flagsHasIsRemote == 0 {
			t.Errorf("%s: flags %#x lack HAS_IS_REMOTE", c.path, flags)
		}
		if !c.continues {
			if s.TraceID().String() == callerTrace || !s.ParentSpanID().IsEmpty() {
				t.Errorf("%s: joined the caller's trace (%s parent %s) from an invalid header",
					c.path, s.TraceID(), s.ParentSpanID())
			}
			if flags&flagsIsRemote != 0 {
				t.Errorf("%s: flags %#x claim a remote parent", c.path, flags)
			}
			continue
		}
		if s.TraceID().String() != callerTrace || s.ParentSpanID().String() != callerSpan {
			t.Errorf("%s: trace %s parent %s, want %s parent %s", c.path, s.TraceID(),
				s.ParentSpanID(), callerTrace, callerSpan)
		}
		if s.SpanID().String() == callerSpan {
			t.Errorf("%s: reused the caller's span id", c.path)
		}
		if flags&flagsTraceMask != c.traceFlag || flags&flagsIsRemote == 0 {
			t.Errorf("%s: flags %#x, want trace flags %#x and IS_REMOTE", c.path, flags, c.traceFlag)
		}
	}
}
