package main

import (
	"context"
	"fmt"
	"os"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// fileReceiverConfig is the configuration of the Collector's otlpjsonfile
// receiver (opentelemetry-collector-contrib receiver/otlpjsonfilereceiver):
// the file consumer's settings, squashed, and its own storage and replay_file.
// That receiver's module is not served by the module proxy here; the part
// that reads the files, pkg/stanza's fileconsumer, is, and runFileReceiver
// reads with it, configured by the same keys, and decodes each line with
// pdata's JSON unmarshaler as that receiver does.
type fileReceiverConfig struct {
	fileconsumer.Config `mapstructure:",squash"`
	StorageID           *component.ID `mapstructure:"storage"`
	ReplayFile          bool          `mapstructure:"replay_file"`
}

// runFileReceiver reads the receivers::otlpjsonfile section of the Collector
// configuration at path (unknown keys are an error, as in the Collector) and
// passes every line of the files it names to next. It returns a stop function.
func runFileReceiver(path string, next *recorder) (func(), error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	retrieved, err := confmap.NewRetrievedFromYAML(raw)
	if err != nil {
		return nil, err
	}
	conf, err := retrieved.AsConf()
	if err != nil {
		return nil, err
	}
	section, err := conf.Sub("receivers::otlpjsonfile")
	if err != nil {
		return nil, err
	}
	cfg := &fileReceiverConfig{Config: *fileconsumer.NewConfig()}
	if err := section.Unmarshal(cfg); err != nil {
		return nil, fmt.Errorf("%s: receivers::otlpjsonfile: %w", path, err)
	}
	m, err := cfg.Config.Build(nopTelemetry(), func(ctx context.Context, tokens [][]byte, _ map[string]any, _ int64, _ []int64) error {
		for _, tok := range tokens {
			td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(tok)
			if err != nil {
				fmt.Fprintf(os.Stderr, "otlprecv: a line of %d bytes does not decode: %v\n", len(tok), err)
				continue
			}
			if err := next.ConsumeTraces(ctx, td); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := m.Start(nil); err != nil {
		return nil, err
	}
	return func() { m.Stop() }, nil
}
