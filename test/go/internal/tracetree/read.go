package tracetree

import (
	"io"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"otrace.test/gotests/internal/otlp"
)

// Read builds a Forest from otrace output, one OTLP/JSON line at a time.
// Lines that do not decode are returned as *otlp.LineError and left out;
// the error is a read error.
func Read(r io.Reader) (*Forest, []error, error) {
	var tds []ptrace.Traces
	var bad []error
	err := otlp.ReadLines(r,
		func(_ int, td ptrace.Traces) error {
			tds = append(tds, td)
			return nil
		},
		func(e *otlp.LineError) { bad = append(bad, e) })
	return New(tds...), bad, err
}
