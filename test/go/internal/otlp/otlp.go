// Package otlp decodes otrace's output, one OTLP/JSON
// ExportTraceServiceRequest per line, with the OpenTelemetry Collector's own
// unmarshaler, so that "valid" means "a real OTLP receiver accepts it" rather
// than "our own idea of the format". cmd/otlpcheck and the integration tests
// share this code.
package otlp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Decode parses one line (without its newline). Beyond what the Collector's
// unmarshaler checks, it insists on valid UTF-8 and a single well-formed JSON
// value, because the unmarshaler (jsoniter based) is lenient about both and a
// stricter receiver would reject such a line; and it rejects lines without
// spans, which otrace has no reason to write.
func Decode(line []byte) (ptrace.Traces, error) {
	if !utf8.Valid(line) {
		return ptrace.Traces{}, errors.New("line is not valid UTF-8")
	}
	if !json.Valid(line) {
		return ptrace.Traces{}, errors.New("line is not a single well-formed JSON value")
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
	if err != nil {
		return ptrace.Traces{}, err
	}
	if td.SpanCount() == 0 {
		return ptrace.Traces{}, errors.New("request contains no spans")
	}
	return td, nil
}

// LineError locates a decoding failure.
type LineError struct {
	Line int // 1-based
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// ErrNoNewline reports a last line without its terminating newline: a reader
// tailing the output could not tell it apart from a partial write.
var ErrNoNewline = errors.New("last line has no terminating newline")

// ReadLines calls fn for every non-empty line of r, in order, with its
// decoded content. Decoding errors go to onErr (as *LineError) and reading
// goes on, so a checker can report every bad line; a read error or an error
// returned by fn stops it. Lines may be large (512 spans per flush), so no
// line length limit applies.
func ReadLines(r io.Reader, fn func(line int, td ptrace.Traces) error, onErr func(*LineError)) error {
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		raw, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		atEOF := err != nil
		if atEOF && len(raw) > 0 {
			onErr(&LineError{Line: n, Err: ErrNoNewline})
		}
		if line := bytes.TrimRight(raw, "\r\n"); len(bytes.TrimSpace(line)) > 0 {
			td, derr := Decode(line)
			if derr != nil {
				onErr(&LineError{Line: n, Err: derr})
			} else if ferr := fn(n, td); ferr != nil {
				return ferr
			}
		}
		if atEOF {
			return nil
		}
	}
}

// Span is one span with its resource and scope, flattened into plain Go
// values so tests can compare them directly and otlpcheck -flat can print
// them. Attribute values are what pcommon.Value.AsRaw gives: string, int64,
// float64, bool, []byte, []any or map[string]any.
type Span struct {
	TraceID       string         `json:"traceId"`
	SpanID        string         `json:"spanId"`
	ParentSpanID  string         `json:"parentSpanId"`
	Flags         uint32         `json:"flags"`
	Name          string         `json:"name"`
	Kind          int            `json:"kind"`
	StartUnixNano uint64         `json:"startUnixNano"`
	EndUnixNano   uint64         `json:"endUnixNano"`
	StatusCode    int            `json:"statusCode"`
	StatusMessage string         `json:"statusMessage"`
	Attributes    map[string]any `json:"attributes"`
	Resource      map[string]any `json:"resource"`
	ScopeName     string         `json:"scopeName"`
	ScopeVersion  string         `json:"scopeVersion"`
}

// Flatten lists the spans of td in document order. Empty ids come out as ""
// (pcommon's String of an empty id), so "no parent" is ParentSpanID == "".
func Flatten(td ptrace.Traces) []Span {
	var out []Span
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		resource := attrMap(rs.Resource().Attributes())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				out = append(out, Span{
					TraceID:       idString(s.TraceID()),
					SpanID:        idString(s.SpanID()),
					ParentSpanID:  idString(s.ParentSpanID()),
					Flags:         s.Flags(),
					Name:          s.Name(),
					Kind:          int(s.Kind()),
					StartUnixNano: uint64(s.StartTimestamp()),
					EndUnixNano:   uint64(s.EndTimestamp()),
					StatusCode:    int(s.Status().Code()),
					StatusMessage: s.Status().Message(),
					Attributes:    attrMap(s.Attributes()),
					Resource:      resource,
					ScopeName:     ss.Scope().Name(),
					ScopeVersion:  ss.Scope().Version(),
				})
			}
		}
	}
	return out
}

// idString hides the difference between pcommon.TraceID and SpanID, whose
// String methods both return lower-case hex, or "" when the id is all zero.
func idString(id fmt.Stringer) string { return id.String() }

func attrMap(m pcommon.Map) map[string]any {
	out := make(map[string]any, m.Len())
	m.Range(func(k string, v pcommon.Value) bool {
		out[k] = v.AsRaw()
		return true
	})
	return out
}
