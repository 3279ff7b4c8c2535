package main

import (
	"encoding/binary"
	"testing"
)

func field(num uint64, payload []byte) []byte {
	b := binary.AppendUvarint(nil, num<<3|wireLen)
	b = binary.AppendUvarint(b, uint64(len(payload)))
	return append(b, payload...)
}

func varintField(num, v uint64) []byte {
	b := binary.AppendUvarint(nil, num<<3|wireVarint)
	return binary.AppendUvarint(b, v)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// span: trace_id (1), span_id (2), name (5), kind (6), start (7, fixed64)
func span(name string) []byte {
	start := binary.AppendUvarint(nil, 7<<3|wireI64)
	start = binary.LittleEndian.AppendUint64(start, 1700000000000000000)
	return cat(field(1, make([]byte, 16)), field(2, make([]byte, 8)),
		field(5, []byte(name)), varintField(6, 2), start)
}

func TestCountSpans(t *testing.T) {
	resource := field(1, field(1, []byte("service.name attr")))
	scope := field(1, field(1, []byte("otelhttp")))
	ss1 := field(2, cat(scope, field(2, span("a")), field(2, span("b")), field(3, []byte("url"))))
	ss2 := field(2, cat(field(2, span("c"))))
	rs1 := field(1, cat(resource, ss1, ss2, field(3, []byte("schema"))))
	rs2 := field(1, cat(resource, field(2, cat(scope, field(2, span("d"))))))
	req := cat(rs1, rs2)

	n, err := countSpans(req)
	if err != nil || n != 4 {
		t.Fatalf("countSpans = %d, %v; want 4, nil", n, err)
	}
	if n, err := countSpans(nil); err != nil || n != 0 {
		t.Fatalf("empty request: %d, %v", n, err)
	}
	for cut := 1; cut < len(req); cut += 7 {
		if _, err := countSpans(req[:len(req)-cut]); err == nil {
			// a cut can land on a field boundary of the outer message
			// only at the end of rs1
			if len(req)-cut != len(rs1) {
				t.Errorf("truncated at %d: no error", len(req)-cut)
			}
		}
	}
	if _, err := countSpans([]byte{0x0a, 0x05, 0x01}); err == nil {
		t.Error("length past the end: no error")
	}
}
