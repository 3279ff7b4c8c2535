package main

import (
	"encoding/binary"
	"errors"
)

// Just enough of the protobuf wire format to count the spans of an
// ExportTraceServiceRequest without generated code:
//
//	ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
//	ResourceSpans             { repeated ScopeSpans scope_spans = 2; ... }
//	ScopeSpans                { repeated Span spans = 2; ... }

var errMalformed = errors.New("malformed protobuf")

const (
	wireVarint = 0
	wireI64    = 1
	wireLen    = 2
	wireI32    = 5
)

// forEachField calls fn for each field of the message in b; for
// length-delimited fields val is the payload, otherwise nil.
func forEachField(b []byte, fn func(num uint64, typ int, val []byte) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return errMalformed
		}
		b = b[n:]
		num, typ := key>>3, int(key&7)
		if num == 0 {
			return errMalformed
		}
		var val []byte
		switch typ {
		case wireVarint:
			_, n = binary.Uvarint(b)
			if n <= 0 {
				return errMalformed
			}
			b = b[n:]
		case wireI64, wireI32:
			w := 8
			if typ == wireI32 {
				w = 4
			}
			if len(b) < w {
				return errMalformed
			}
			b = b[w:]
		case wireLen:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return errMalformed
			}
			val = b[n : n+int(l)]
			b = b[n+int(l):]
		default:
			return errMalformed
		}
		if err := fn(num, typ, val); err != nil {
			return err
		}
	}
	return nil
}

// lenFields calls fn on every length-delimited field number num of b.
func lenFields(b []byte, num uint64, fn func([]byte) error) error {
	return forEachField(b, func(n uint64, typ int, val []byte) error {
		if n != num {
			return nil
		}
		if typ != wireLen {
			return errMalformed
		}
		return fn(val)
	})
}

// countSpans returns how many spans an ExportTraceServiceRequest holds.
func countSpans(req []byte) (int, error) {
	spans := 0
	err := lenFields(req, 1, func(rs []byte) error {
		return lenFields(rs, 2, func(ss []byte) error {
			return lenFields(ss, 2, func([]byte) error {
				spans++
				return nil
			})
		})
	})
	return spans, err
}
