package otlp

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestProtoSamples: otrace's protobuf encoder and its JSON encoder write the
// same requests (test/unit/test_otlp_proto --samples DIR: every record type,
// bytes that are not UTF-8, strings cut mid-character, 70 KB values, int64
// extremes, several processes); the Collector's protobuf and JSON decoders
// must read the same traces from each pair. Set OTRACE_OTLP_SAMPLES to DIR
// (ctest otlp_proto_collector does).
func TestProtoSamples(t *testing.T) {
	dir := os.Getenv("OTRACE_OTLP_SAMPLES")
	if dir == "" {
		t.Skip("OTRACE_OTLP_SAMPLES is not set: run test/unit/test_otlp_proto --samples DIR first")
	}
	pbs, err := filepath.Glob(filepath.Join(dir, "*.pb"))
	if err != nil || len(pbs) == 0 {
		t.Fatalf("no samples in %s (%v)", dir, err)
	}
	for _, pb := range pbs {
		name := strings.TrimSuffix(filepath.Base(pb), ".pb")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(pb)
			if err != nil {
				t.Fatal(err)
			}
			fromProto, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(raw)
			if err != nil {
				t.Fatalf("the Collector's protobuf decoder refuses %s: %v", pb, err)
			}
			line, err := os.ReadFile(strings.TrimSuffix(pb, ".pb") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			fromJSON, err := Decode(line)
			if err != nil {
				t.Fatalf("the JSON twin does not decode: %v", err)
			}
			if fromProto.SpanCount() == 0 || fromProto.SpanCount() != fromJSON.SpanCount() {
				t.Fatalf("%d spans from protobuf, %d from JSON", fromProto.SpanCount(), fromJSON.SpanCount())
			}
			// Same traces: the same bytes once both are marshalled by pdata.
			a, errA := (&ptrace.ProtoMarshaler{}).MarshalTraces(fromProto)
			b, errB := (&ptrace.ProtoMarshaler{}).MarshalTraces(fromJSON)
			if errA != nil || errB != nil {
				t.Fatalf("re-marshalling: %v, %v", errA, errB)
			}
			if !bytes.Equal(a, b) {
				ja, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(fromProto)
				jb, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(fromJSON)
				t.Errorf("protobuf and JSON encodings differ:\nprotobuf: %s\nJSON:     %s", clipBytes(ja), clipBytes(jb))
			}
			for _, s := range Flatten(fromProto) {
				if s.TraceID == "" || s.SpanID == "" {
					t.Errorf("span %q lost its ids", s.Name)
				}
			}
		})
	}
}

func clipBytes(b []byte) string {
	if len(b) > 3000 {
		return string(b[:3000]) + "..."
	}
	return string(b)
}
