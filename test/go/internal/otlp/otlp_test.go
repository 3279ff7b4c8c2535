package otlp

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// validLine is a hand-written request in the shape otrace is meant to emit:
// hex ids, integer enums, 64-bit integers as strings, as the OTLP/JSON
// encoding rules require.
const validLine = `{"resourceSpans":[{"resource":{"attributes":[` +
	`{"key":"service.name","value":{"stringValue":"httpserver"}},` +
	`{"key":"process.pid","value":{"intValue":"4242"}}]},` +
	`"scopeSpans":[{"scope":{"name":"otrace","version":"0.1.0"},"spans":[` +
	`{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",` +
	`"name":"GET /items/{id}","kind":2,` +
	`"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000030000000",` +
	`"attributes":[` +
	`{"key":"http.request.method","value":{"stringValue":"GET"}},` +
	`{"key":"http.response.status_code","value":{"intValue":"503"}},` +
	`{"key":"sampled","value":{"boolValue":true}},` +
	`{"key":"ratio","value":{"doubleValue":0.5}}],` +
	`"status":{"code":2,"message":"boom"}}]}]}]}`

func TestDecodeValid(t *testing.T) {
	td, err := Decode([]byte(validLine))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	got := Flatten(td)
	want := []Span{{
		TraceID:       "5b8efff798038103d269b633813fc60c",
		SpanID:        "eee19b7ec3c1b174",
		ParentSpanID:  "",
		Name:          "GET /items/{id}",
		Kind:          2,
		StartUnixNano: 1700000000000000000,
		EndUnixNano:   1700000000030000000,
		StatusCode:    2,
		StatusMessage: "boom",
		Attributes: map[string]any{
			"http.request.method":       "GET",
			"http.response.status_code": int64(503),
			"sampled":                   true,
			"ratio":                     0.5,
		},
		Resource: map[string]any{
			"service.name": "httpserver",
			"process.pid":  int64(4242),
		},
		ScopeName:    "otrace",
		ScopeVersion: "0.1.0",
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Flatten:\n got %#v\nwant %#v", got, want)
	}
}

func TestDecodeInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, line, wantErr string
	}{
		{"truncated", validLine[:len(validLine)/2], "well-formed JSON"},
		{"trailing garbage", validLine + `x`, "well-formed JSON"},
		{"two documents", validLine + validLine, "well-formed JSON"},
		{"invalid UTF-8", strings.Replace(validLine, `"GET"`, "\"G\xffT\"", 1), "UTF-8"},
		{"no spans", `{"resourceSpans":[]}`, "no spans"},
		{"empty object", `{}`, "no spans"},
		// The Collector's unmarshaler itself rejects these.
		{"short trace id", strings.Replace(validLine, `5b8efff798038103d269b633813fc60c`, `5b8e`, 1), "traceId"},
		{"non-hex span id", strings.Replace(validLine, `eee19b7ec3c1b174`, `zzzzzzzzzzzzzzzz`, 1), "spanId"},
		{"array", `[]`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.line))
			if err == nil {
				t.Fatal("Decode accepted an invalid line")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not mention %q", err, tc.wantErr)
			}
		})
	}
}

func TestReadLines(t *testing.T) {
	input := validLine + "\n\n" + "not json\n" + validLine + "\n" + validLine // no final newline
	var good []int
	var bad []*LineError
	err := ReadLines(strings.NewReader(input),
		func(line int, td ptrace.Traces) error {
			good = append(good, line)
			return nil
		},
		func(e *LineError) { bad = append(bad, e) })
	if err != nil {
		t.Fatalf("ReadLines: %v", err)
	}
	if !reflect.DeepEqual(good, []int{1, 4, 5}) {
		t.Errorf("good lines = %v, want [1 4 5]", good)
	}
	if len(bad) != 2 || bad[0].Line != 3 || bad[1].Line != 5 || !errors.Is(bad[1], ErrNoNewline) {
		t.Errorf("bad lines = %v, want line 3 (not JSON) and line 5 (no newline)", bad)
	}
}
