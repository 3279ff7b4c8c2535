// Command otlprecv runs the OpenTelemetry Collector's own OTLP receiver
// (go.opentelemetry.io/collector/receiver/otlpreceiver) on OTLP/HTTP, so that
// otrace's exporter is tested against the code real Collectors run: the
// receiver decodes each request (protobuf or JSON, gzip or not) into pdata,
// and otlprecv records what it got.
//
//	otlprecv -addr 127.0.0.1:0 -portfile PORT -out traces.jsonl -meta meta.jsonl
//	         [-tls-cert CERT -tls-key KEY [-client-ca CA]]
//	         [-unavailable N -retry-after SECONDS]
//	otlprecv -file-config COLLECTOR.yaml -out traces.jsonl -meta meta.jsonl
//
// Each accepted request adds one line to -out: its traces re-encoded by
// pdata's JSON marshaler (the format otrace's own JSON lines have), and one
// line to -meta: {"spans": N, "headers": {...}} with the request's headers
// as the receiver passed them on (include_metadata). With -unavailable N,
// the first N requests are refused the way a Collector refuses when its
// pipeline is full: the consumer returns Unavailable with RetryInfo, and the
// receiver answers 503 with Retry-After. With -file-config, it reads JSON
// lines from files instead, as the otlpjsonfile receiver configured there
// would (see filereceiver.go). It runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// recorder is the receiver's next consumer: it writes what arrives.
type recorder struct {
	mu          sync.Mutex
	out, meta   *os.File
	unavailable int // requests still to refuse
	retryAfter  time.Duration
}

func (r *recorder) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (r *recorder) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unavailable > 0 {
		r.unavailable--
		st, err := status.New(codes.Unavailable, "otlprecv: refusing as told (-unavailable)").
			WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(r.retryAfter)})
		if err != nil {
			return err
		}
		return st.Err()
	}
	line, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		return err
	}
	headers := map[string][]string{}
	md := client.FromContext(ctx).Metadata
	for k := range md.Keys() {
		headers[k] = md.Get(k)
	}
	meta, err := json.Marshal(map[string]any{"spans": td.SpanCount(), "headers": headers})
	if err != nil {
		return err
	}
	if _, err := r.out.Write(append(line, '\n')); err != nil {
		return err
	}
	_, err = r.meta.Write(append(meta, '\n'))
	return err
}

func waitSignal() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}

type host struct{}

func (host) GetExtensions() map[component.ID]component.Component { return nil }

// freePort asks the kernel for a free port; the receiver binds its own listener.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

func nopTelemetry() component.TelemetrySettings {
	return component.TelemetrySettings{
		Logger:         zap.NewNop(),
		TracerProvider: tracenoop.NewTracerProvider(),
		MeterProvider:  metricnoop.NewMeterProvider(),
		Resource:       pcommon.NewResource(),
	}
}

func start(addr string, tlsCfg configoptional.Optional[configtls.ServerConfig], next consumer.Traces) (receiver.Traces, error) {
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	httpCfg := cfg.Protocols.HTTP.GetOrInsertDefault() // the Collector's defaults, enabled
	httpCfg.ServerConfig.NetAddr.Endpoint = addr
	httpCfg.ServerConfig.IncludeMetadata = true
	httpCfg.ServerConfig.TLS = tlsCfg
	cfg.Protocols.GRPC = configoptional.None[configgrpc.ServerConfig]()
	set := receiver.Settings{ID: component.NewID(f.Type()), TelemetrySettings: nopTelemetry()}
	r, err := f.CreateTraces(context.Background(), set, cfg, next)
	if err != nil {
		return nil, err
	}
	if err := r.Start(context.Background(), host{}); err != nil {
		return nil, err
	}
	return r, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (port 0: a free one)")
	portFile := flag.String("portfile", "", "write the port listened on to this file")
	outPath := flag.String("out", "", "traces received, one OTLP/JSON line per request")
	metaPath := flag.String("meta", "", "per request: span count and headers, one JSON line each")
	cert := flag.String("tls-cert", "", "serve HTTPS with this certificate")
	key := flag.String("tls-key", "", "and this key")
	clientCA := flag.String("client-ca", "", "require client certificates signed by this CA")
	unavailable := flag.Int("unavailable", 0, "refuse the first N requests (503, Retry-After)")
	retryAfter := flag.Duration("retry-after", 2*time.Second, "the delay the refusals ask for")
	fileConfig := flag.String("file-config", "", "read JSON lines as this Collector configuration's otlpjsonfile receiver would")
	flag.Parse()
	if *outPath == "" || *metaPath == "" {
		fmt.Fprintln(os.Stderr, "otlprecv: -out and -meta are required")
		os.Exit(2)
	}
	rec := &recorder{unavailable: *unavailable, retryAfter: *retryAfter}
	var err error
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if rec.out, err = os.OpenFile(*outPath, flags, 0o644); err == nil {
		rec.meta, err = os.OpenFile(*metaPath, flags, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "otlprecv:", err)
		os.Exit(1)
	}
	if *fileConfig != "" {
		stop, err := runFileReceiver(*fileConfig, rec)
		if err != nil {
			fmt.Fprintln(os.Stderr, "otlprecv:", err)
			os.Exit(1)
		}
		waitSignal()
		stop()
		return
	}
	tlsCfg := configoptional.None[configtls.ServerConfig]()
	if *cert != "" {
		tlsCfg = configoptional.Some(configtls.ServerConfig{
			Config:       configtls.Config{CertFile: *cert, KeyFile: *key},
			ClientCAFile: *clientCA,
		})
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "otlprecv:", err)
		os.Exit(2)
	}
	var r receiver.Traces
	for try := 0; try < 20; try++ {
		p := port
		if p == "0" {
			if p, err = freePort(); err != nil {
				break
			}
		}
		if r, err = start(net.JoinHostPort(host, p), tlsCfg, rec); err == nil {
			port = p
			break
		}
		if port != "0" {
			break
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "otlprecv:", err)
		os.Exit(1)
	}
	if *portFile != "" {
		tmp := *portFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(port+"\n"), 0o644); err == nil {
			err = os.Rename(tmp, *portFile)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "otlprecv:", err)
			os.Exit(1)
		}
	}
	waitSignal()
	if err := r.Shutdown(context.Background()); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "otlprecv:", err)
	}
}
