// Command otlpcheck validates otrace output files: every non-empty line must
// be an OTLP/JSON ExportTraceServiceRequest that the OpenTelemetry
// Collector's unmarshaler accepts and that holds at least one span.
//
//	otlpcheck [-flat] FILE...
//
// Every bad line is reported as FILE:LINE: error on stderr and the exit
// status is 1. With -flat, each span is also printed as one JSON object per
// line on stdout (see otlp.Span), which is handy for jq and shell tests.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"otrace.test/gotests/internal/otlp"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status, so the test
// can drive it.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("otlpcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	flat := fs.Bool("flat", false, "print one JSON object per span on stdout")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: otlpcheck [-flat] FILE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}

	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false) // span names like "GET /items/{id}" stay readable
	status := 0
	for _, name := range fs.Args() {
		if !checkFile(name, *flat, enc, stderr) {
			status = 1
		}
	}
	return status
}

// checkFile reports whether every line of the file is valid.
func checkFile(name string, flat bool, enc *json.Encoder, stderr io.Writer) bool {
	f, err := os.Open(name)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return false
	}
	defer f.Close()

	ok := true
	err = otlp.ReadLines(f,
		func(line int, td ptrace.Traces) error {
			if !flat {
				return nil
			}
			for _, s := range otlp.Flatten(td) {
				if err := enc.Encode(s); err != nil {
					return err
				}
			}
			return nil
		},
		func(e *otlp.LineError) {
			ok = false
			fmt.Fprintf(stderr, "%s:%d: %v\n", name, e.Line, e.Err)
		})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return false
	}
	return ok
}
